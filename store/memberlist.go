package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// MemberFilter selects and pages the members list.
type MemberFilter struct {
	Query  string // part of a name or an address
	Role   string // "" for any
	Status string // "" for current (active and invited), or active, invited, deactivated, all
	Seat   string // "" for any, "with" or "without" a seat
	After  string // cursor: the page after this row
	Before string // cursor: the page before this row
	Limit  int
	// Counted is this filter's total from an earlier page: the list uses
	// it instead of counting again when the account's change numbers are
	// still the ones it was counted at (see ListMembers).
	Counted MemberTotal
}

// MemberTotal is the number of an account's members a filter matches, and
// the account's change numbers in the snapshot it was counted in.
type MemberTotal struct {
	Total int
	Seq   ChangeSeq
	// For names the account and filter counted: a total is reused for
	// those only. It is empty for a total that cannot be reused: one of a
	// search (a rename moves no account's change number), or of a page
	// that had no rows.
	For string
}

// Reusable reports whether the total may be passed back for the next page.
func (t MemberTotal) Reusable() bool { return t.For != "" }

// MemberRow is one line of the members list.
type MemberRow struct {
	MembershipID int64        `db:"id"`
	UserID       int64        `db:"user_id"`
	Name         string       `db:"name"`
	Email        string       `db:"email"`
	Role         string       `db:"role"`
	Status       string       `db:"status"`
	LastSignInAt sql.NullTime `db:"last_sign_in_at"`
	LastUsedAt   sql.NullTime // the latest use of any seat they hold
	Products     []string     // names of the products whose seats they hold
	SortKey      string       `db:"sort_key"`
	Source       string       `db:"source"` // scim: managed by the identity provider
}

// LastActivity is the member's latest sign-in or use of a seat (zero:
// never): the same rule as a seat holder's on /seats and Insights.
func (r MemberRow) LastActivity() time.Time {
	return licensing.LastActivity(r.LastUsedAt.Time, r.LastSignInAt.Time)
}

// MemberPage is one page of the members list; Next and Prev are cursors,
// empty when there is no such page.
type MemberPage struct {
	Rows       []MemberRow
	Total      int
	Next, Prev string
	Counted    MemberTotal // the total, to be passed back in the filter of the next page
}

// The list is ordered by (sort key, user id), the order of
// membership_sort_idx, so a page is one range of that index whatever the
// page number (keyset pagination) and the account's size.
//
// The list most visits open, with no search and no filter, and its pages
// are one prepared statement (membersDefault…SQL): an index range is the
// best plan for every account, so PostgreSQL plans it once per connection
// instead of on every page. A search or a filter goes as an unnamed
// statement, which lib/pq has planned for its values: the planner folds the
// empty filters away and picks, for each account, between the index range
// and the other indexes a filter can use (a rare role, the trigram index of
// a search), where one plan for all would walk the whole range.
const (
	memberColumnsNoKey = `
SELECT m.id, m.user_id, u.name, u.email, m.role, m.status, m.last_sign_in_at, m.source`
	memberFrom = `
FROM membership m JOIN app_user u ON u.id = m.user_id`
	memberCurrent = `
WHERE m.account_id = $1 AND m.status = ANY($2)`
	memberWhere = memberCurrent + `
  AND ($3 = '' OR m.role = $3)
  AND ($4 = '' OR ($4 = 'with') = EXISTS (SELECT 1 FROM seat_assignment sa
                                            WHERE sa.account_id = m.account_id AND sa.membership_id = m.id))`
	memberSearch = `
  AND ($5 = '' OR u.search_text LIKE $5)`
	membersCountSQL = `SELECT count(*) FROM membership m JOIN app_user u ON u.id = m.user_id` + memberWhere + memberSearch
	// Without a search the count needs no user row: an index-only scan.
	membersCountNoSearchSQL = `SELECT count(*) FROM membership m` + memberWhere

	// A page's rows carry the count of every match in the column total (an
	// uncorrelated subquery, run once), which saves the page a round trip;
	// only a page with no rows asks for the count alone.
	membersTotal = `,
       (` + membersCountSQL + `) AS total, -1 AS seq_account, -1 AS seq_catalog`
	memberChangeSeq = `
CROSS JOIN (` + accountChangeSeqSQL + `) AS cs`
	// The seats of a page's members are read by a second statement, right
	// after the list, and prepared: its plan is the same for every account
	// (an index range per member shown), and these joins made planning the
	// list take almost twice as long. A seat assigned between the two
	// shows, as on a reload.
	memberSeatsSQL = `
SELECT sa.membership_id, max(sa.last_used_at) AS last_used_at, array_agg(p.name ORDER BY p.name) AS products
FROM seat_assignment sa JOIN subscription s ON s.id = sa.subscription_id JOIN product p ON p.id = s.product_id
WHERE sa.account_id = $1 AND sa.membership_id = ANY($2)
GROUP BY sa.membership_id`
)

var (
	membersAfterSQL  = memberColumns(byPerson) + membersTotal + memberFrom + memberWhere + memberSearch + membersAfter(6, byPerson)
	membersBeforeSQL = memberColumns(byPerson) + membersTotal + memberFrom + memberWhere + memberSearch + membersBefore(6, byPerson)
	// Without a search, the rows also carry the account's change numbers
	// from the same snapshot, and the count is a total counted before when
	// they are the ones given: PostgreSQL runs an uncorrelated subquery only
	// when its value is needed, so counting 10,000 members is skipped while
	// nothing changed. Every change to the account's memberships or seats
	// moves its number in the transaction that makes it
	// (notifyAccountChanged).
	membersAfterNoSearchSQL  = memberColumns(byMembership) + countedTotal(9, membersCountNoSearchSQL) + memberFrom + memberChangeSeq + memberWhere + memberSearch + membersAfter(6, byMembership)
	membersBeforeNoSearchSQL = memberColumns(byMembership) + countedTotal(9, membersCountNoSearchSQL) + memberFrom + memberChangeSeq + memberWhere + memberSearch + membersBefore(6, byMembership)
	membersCountDefaultSQL   = `SELECT count(*) FROM membership m` + memberCurrent
	membersDefaultAfterSQL   = memberColumns(byMembership) + countedTotal(6, membersCountDefaultSQL) + memberFrom + memberChangeSeq + memberCurrent + membersAfter(3, byMembership)
	membersDefaultBeforeSQL  = memberColumns(byMembership) + countedTotal(6, membersCountDefaultSQL) + memberFrom + memberChangeSeq + memberCurrent + membersBefore(3, byMembership)
)

// memberColumns is a row of the list and the key it is ordered by.
func memberColumns(by [2]string) string { return memberColumnsNoKey + ", " + by[0] + " AS sort_key" }

// membersAfter and membersBefore are the keyset condition and order of a
// page after or before a cursor, whose key, id and the page's limit are the
// parameters from $n. A list pages by the membership's copy of the key
// (byMembership), a range of membership_sort_idx; a search by the person's
// own (byPerson): it starts from the people the trigram index matched, and
// their memberships are then found by user (an index that holds no key), or
// for a broad search it walks the people in app_user_sort_idx's order.
// Both keys are the same (the triggers of migration 00188), so a cursor
// from either is good for both.
func membersAfter(n int, by [2]string) string {
	key, id, limit := params(n)
	return `
  AND (` + by[0] + `, ` + by[1] + `) > (` + key + `, ` + id + `)
ORDER BY ` + by[0] + `, ` + by[1] + ` LIMIT ` + limit
}

func membersBefore(n int, by [2]string) string {
	key, id, limit := params(n)
	return `
  AND (` + by[0] + `, ` + by[1] + `) < (` + key + `, ` + id + `)
ORDER BY ` + by[0] + ` DESC, ` + by[1] + ` DESC LIMIT ` + limit
}

var (
	byMembership = [2]string{"m.sort_key", "m.user_id"}
	byPerson     = [2]string{"u.sort_key", "u.id"}
)

// countedTotal is the total column of a list that carries the account's
// change numbers: the total counted before (parameter $n+2) when the
// numbers are the ones it was counted at ($n, $n+1), else count.
func countedTotal(n int, count string) string {
	account, catalog, total := params(n)
	return `,
       CASE WHEN cs.account = ` + account + ` AND cs.catalog = ` + catalog + ` THEN ` + total + `
            ELSE (` + count + `) END AS total,
       cs.account AS seq_account, cs.catalog AS seq_catalog`
}

// params names the three parameters from $n.
func params(n int) (string, string, string) {
	return "$" + strconv.Itoa(n), "$" + strconv.Itoa(n+1), "$" + strconv.Itoa(n+2)
}

// ListMembers returns one page of an account's members, sorted by name.
func (s *Store) ListMembers(ctx context.Context, accountID int64, f MemberFilter) (MemberPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	statuses := []string{"active", "invited"}
	switch f.Status {
	case "active", "invited", "deactivated":
		statuses = []string{f.Status}
	case "all":
		statuses = []string{"active", "invited", "deactivated"}
	}
	pattern := ""
	if q := strings.TrimSpace(strings.ToLower(f.Query)); q != "" {
		pattern = "%" + likeEscaper.Replace(q) + "%"
	}
	seat := ""
	if f.Seat == "with" || f.Seat == "without" {
		seat = f.Seat
	}
	args := []any{accountID, pq.Array(statuses), f.Role, seat, pattern}
	countedFor := strconv.FormatInt(accountID, 10) + "|" + strings.Join(statuses, ",") + "|" + f.Role + "|" + seat

	// The statement for the search and filters given, and its parameters
	// before the cursor's: $1…$5 (role, seats and search, each empty when
	// not given), or $1 and $2 for the default list.
	var page MemberPage
	listArgs, countArgs, countSQL, after, before := args, args, membersCountSQL, membersAfterSQL, membersBeforeSQL
	var counted []any
	prepared := false
	if pattern == "" {
		countArgs, countSQL, after, before = args[:4], membersCountNoSearchSQL, membersAfterNoSearchSQL, membersBeforeNoSearchSQL
		if f.Role == "" && seat == "" {
			listArgs, countArgs, countSQL, after, before = args[:2], args[:2], membersCountDefaultSQL, membersDefaultAfterSQL, membersDefaultBeforeSQL
			prepared = true
		}
		known := f.Counted
		if known.For != countedFor { // change numbers are never negative
			known.Seq = ChangeSeq{Account: -1, Catalog: -1}
		}
		counted = []any{known.Seq.Account, known.Seq.Catalog, known.Total}
	}
	query, key, id, backward := after, "", int64(0), false
	if k, i, ok := decodeCursor(f.Before); ok {
		query, key, id, backward = before, k, i, true
	} else if k, i, ok := decodeCursor(f.After); ok {
		key, id = k, i
	}
	listArgs = append(append(append(make([]any, 0, len(listArgs)+6), listArgs...), key, id, limit+1), counted...)
	var found []struct {
		MemberRow
		Total      int   `db:"total"`
		SeqAccount int64 `db:"seq_account"`
		SeqCatalog int64 `db:"seq_catalog"`
	}
	var err error
	if prepared {
		err = s.selectPrepared(ctx, &found, query, listArgs...)
	} else {
		err = s.db.SelectContext(ctx, &found, query, listArgs...)
	}
	if err != nil {
		return MemberPage{}, err
	}
	rows := make([]MemberRow, len(found))
	for i, r := range found {
		rows[i] = r.MemberRow
	}
	if len(found) > 0 { // every row carries the same total and numbers
		first := found[0]
		page.Total = first.Total
		if pattern == "" {
			page.Counted = MemberTotal{Total: first.Total, For: countedFor,
				Seq: ChangeSeq{Account: first.SeqAccount, Catalog: first.SeqCatalog}}
		}
	}
	if len(rows) == 0 {
		if err := s.db.GetContext(ctx, &page.Total, countSQL, countArgs...); err != nil {
			return MemberPage{}, err
		}
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if backward {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	if err := s.memberSeats(ctx, accountID, rows); err != nil {
		return MemberPage{}, err
	}
	page.Rows = rows
	if len(rows) > 0 {
		first, last := rows[0], rows[len(rows)-1]
		if (backward && more) || (!backward && f.After != "") {
			page.Prev = encodeCursor(first.SortKey, first.UserID)
		}
		if backward || more {
			page.Next = encodeCursor(last.SortKey, last.UserID)
		}
	}
	return page, nil
}

// memberSeats fills in the seats the rows' members hold.
func (s *Store) memberSeats(ctx context.Context, accountID int64, rows []MemberRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.MembershipID
	}
	var seats []struct {
		MembershipID int64          `db:"membership_id"`
		LastUsedAt   sql.NullTime   `db:"last_used_at"`
		Products     pq.StringArray `db:"products"`
	}
	if err := s.selectPrepared(ctx, &seats, memberSeatsSQL, accountID, pq.Array(ids)); err != nil {
		return err
	}
	held := make(map[int64]int, len(seats))
	for i, h := range seats {
		held[h.MembershipID] = i
	}
	for i := range rows {
		rows[i].Products = []string{}
		if j, ok := held[rows[i].MembershipID]; ok {
			rows[i].LastUsedAt, rows[i].Products = seats[j].LastUsedAt, seats[j].Products
		}
	}
	return nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func encodeCursor(key string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10) + ":" + key))
}

func decodeCursor(c string) (string, int64, bool) {
	if c == "" {
		return "", 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", 0, false
	}
	idText, key, ok := strings.Cut(string(b), ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return "", 0, false
	}
	return key, id, true
}
