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

// The list is ordered by (sort key, user id), the order of app_user_sort_idx,
// so a page is an index range scan whatever the page number (keyset
// pagination); the optional filters are folded away by the planner when
// empty because lib/pq's unnamed statements get plans for their values.
const (
	memberSortKey = `u.sort_key`
	memberColumns = `
SELECT m.id, m.user_id, u.name, u.email, m.role, m.status, m.last_sign_in_at, m.source,
       ` + memberSortKey + ` AS sort_key`
	memberFrom = `
FROM membership m JOIN app_user u ON u.id = m.user_id`
	memberWhere = `
WHERE m.account_id = $1 AND m.status = ANY($2)
  AND ($3 = '' OR m.role = $3)
  AND ($4 = '' OR ($4 = 'with') = EXISTS (SELECT 1 FROM seat_assignment sa
                                            WHERE sa.account_id = m.account_id AND sa.membership_id = m.id))`
	memberSearch = `
  AND ($5 = '' OR u.search_text LIKE $5)`
	membersAfter = `
  AND (` + memberSortKey + `, u.id) > ($6, $7)
ORDER BY ` + memberSortKey + `, u.id LIMIT $8`
	membersBefore = `
  AND (` + memberSortKey + `, u.id) < ($6, $7)
ORDER BY ` + memberSortKey + ` DESC, u.id DESC LIMIT $8`
	membersCountSQL = `SELECT count(*) FROM membership m JOIN app_user u ON u.id = m.user_id` + memberWhere + memberSearch
	// Without a search the count needs no user row: an index-only scan.
	membersCountNoSearchSQL = `SELECT count(*) FROM membership m` + memberWhere

	// A page's rows carry the count of every match in the column total (an
	// uncorrelated subquery, run once), which saves the page a round trip;
	// only a page with no rows asks for the count alone.
	membersTotal = `,
       (` + membersCountSQL + `) AS total, -1 AS seq_account, -1 AS seq_catalog`
	// Without a search, the rows also carry the account's change numbers
	// from the same snapshot, and the count is a total counted before when
	// they are the ones given ($9, $10; the total $11): PostgreSQL runs an
	// uncorrelated subquery only when its value is needed, so counting
	// 10,000 members is skipped while nothing changed. Every change to the
	// account's memberships or seats moves its number in the transaction
	// that makes it (notifyAccountChanged).
	membersTotalNoSearch = `,
       CASE WHEN cs.account = $9 AND cs.catalog = $10 THEN $11
            ELSE (` + membersCountNoSearchSQL + `) END AS total,
       cs.account AS seq_account, cs.catalog AS seq_catalog`
	memberChangeSeq = `
CROSS JOIN (` + accountChangeSeqSQL + `) AS cs`
	// The seats of a page's members are read by a second statement, right
	// after the list, and prepared: its plan is the same for every account
	// (an index range per member shown), where the list is planned for each
	// account's size, and these joins made planning it take almost twice as
	// long. A seat assigned between the two shows, as on a reload.
	memberSeatsSQL = `
SELECT sa.membership_id, max(sa.last_used_at) AS last_used_at, array_agg(p.name ORDER BY p.name) AS products
FROM seat_assignment sa JOIN subscription s ON s.id = sa.subscription_id JOIN product p ON p.id = s.product_id
WHERE sa.account_id = $1 AND sa.membership_id = ANY($2)
GROUP BY sa.membership_id`
	membersAfterSQL          = memberColumns + membersTotal + memberFrom + memberWhere + memberSearch + membersAfter
	membersBeforeSQL         = memberColumns + membersTotal + memberFrom + memberWhere + memberSearch + membersBefore
	membersAfterNoSearchSQL  = memberColumns + membersTotalNoSearch + memberFrom + memberChangeSeq + memberWhere + memberSearch + membersAfter
	membersBeforeNoSearchSQL = memberColumns + membersTotalNoSearch + memberFrom + memberChangeSeq + memberWhere + memberSearch + membersBefore
)

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

	var page MemberPage
	countSQL, countArgs, after, before := membersCountSQL, args, membersAfterSQL, membersBeforeSQL
	var counted []any
	if pattern == "" {
		countSQL, countArgs, after, before = membersCountNoSearchSQL, args[:4], membersAfterNoSearchSQL, membersBeforeNoSearchSQL
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
	var found []struct {
		MemberRow
		Total      int   `db:"total"`
		SeqAccount int64 `db:"seq_account"`
		SeqCatalog int64 `db:"seq_catalog"`
	}
	if err := s.db.SelectContext(ctx, &found, query, append(append(args, key, id, limit+1), counted...)...); err != nil {
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
