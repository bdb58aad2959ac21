package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// An identity provider's initial import sends its creates several at a
// time with one token. Each create appends to the account's audit chain,
// which one transaction at a time may do, so one transaction per create
// queues every create behind the previous one's commit. Creates that
// arrive while a transaction of the same token is running are therefore
// made together in the next one, all audited under one hold of the chain's
// lock, in the transaction that makes them: by one statement when every
// one is a new person (an initial import), else each in its own savepoint
// (a conflict fails that create alone).

// maxSCIMCreateBatch bounds one transaction, so that its locks are held
// briefly, a batch's answers are not held back by a long queue, and its
// savepoints stay within the 64 subtransactions PostgreSQL tracks per
// backend without spilling to disk for every other session's snapshot.
const maxSCIMCreateBatch = 32

// scimCreateQueues holds the creates waiting for their token's next
// transaction.
type scimCreateQueues struct {
	mu     sync.Mutex
	queues map[scimCreateKey]*scimCreateQueue
}

// scimCreateKey is what the creates of one transaction share: the account
// and the actor the audit log names.
type scimCreateKey struct {
	AccountID int64
	TokenID   int64
	TokenName string
}

type scimCreateQueue struct {
	waiting []*scimCreate
}

// scimCreate is one request's create and, once made, its answer.
type scimCreate struct {
	ctx  context.Context
	in   SCIMUserInput
	user SCIMUser
	err  error
	done chan struct{}
}

// CreateSCIMUser provisions a user into the token's account. A person who
// is already a member by hand (same address) becomes provisioned; a
// userName already in use, in any case, is ErrConflict. Their standing is
// decided at once (rules, unmatched policy); their seat, if a rule gives
// one, right after by the reconciler. Concurrent creates of one token
// share a transaction, each still answered alone.
func (s *Store) CreateSCIMUser(ctx context.Context, tok SCIMToken, in SCIMUserInput) (SCIMUser, error) {
	if err := checkSCIMUser(&in); err != nil {
		return SCIMUser{}, err
	}
	c := &scimCreate{ctx: ctx, in: in, done: make(chan struct{})}
	s.scimCreates.enqueue(s, tok, c)
	select {
	case <-c.done:
		return c.user, c.err
	case <-ctx.Done():
		// The create may still be made (the batch is under way); the
		// client gave up on the answer, as it would on a lone create.
		return SCIMUser{}, ctx.Err()
	}
}

// enqueue adds c to its token's queue, and starts the queue's worker when
// none is running. The worker makes batches until the queue is empty.
func (q *scimCreateQueues) enqueue(s *Store, tok SCIMToken, c *scimCreate) {
	key := scimCreateKey{AccountID: tok.AccountID, TokenID: tok.ID, TokenName: tok.Name}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queues == nil {
		q.queues = map[scimCreateKey]*scimCreateQueue{}
	}
	if queue, ok := q.queues[key]; ok {
		queue.waiting = append(queue.waiting, c)
		return
	}
	q.queues[key] = &scimCreateQueue{waiting: []*scimCreate{c}}
	go q.work(s, tok, key)
}

// next takes the next batch of key's queue, or removes the queue (and
// ends its worker) when nothing waits.
func (q *scimCreateQueues) next(key scimCreateKey) []*scimCreate {
	q.mu.Lock()
	defer q.mu.Unlock()
	queue := q.queues[key]
	if len(queue.waiting) == 0 {
		delete(q.queues, key)
		return nil
	}
	n := min(len(queue.waiting), maxSCIMCreateBatch)
	batch := queue.waiting[:n:n]
	queue.waiting = queue.waiting[n:]
	return batch
}

func (q *scimCreateQueues) work(s *Store, tok SCIMToken, key scimCreateKey) {
	for batch := q.next(key); batch != nil; batch = q.next(key) {
		s.answer(tok, batch)
	}
}

// answer makes a batch and releases its requests, also when making it
// panics (the requests are answered with an error, the worker goes on).
func (s *Store) answer(tok SCIMToken, batch []*scimCreate) {
	defer func() {
		if r := recover(); r != nil {
			for _, c := range batch {
				c.user, c.err = SCIMUser{}, fmt.Errorf("scim create: %v", r)
			}
		}
		for _, c := range batch {
			close(c.done)
		}
	}()
	s.createSCIMUsers(tok, batch)
}

// createSCIMUsers makes a batch of creates in one transaction. When the
// transaction itself fails (not one create: a deadlock, a lost
// connection), each create is tried again alone, so that one create's
// trouble is never another's answer.
func (s *Store) createSCIMUsers(tok SCIMToken, batch []*scimCreate) {
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		c := live[0]
		c.user, c.err = s.createSCIMUserAlone(c.ctx, tok, c.in)
		return
	}
	// The batch answers several requests: one client leaving does not
	// cancel the others' creates.
	ctx := context.WithoutCancel(live[0].ctx)
	now := s.Now()
	stmts, err := s.scimCreateStatements(ctx)
	if err != nil {
		for _, c := range live {
			c.err = err
		}
		return
	}
	if s.createNewSCIMUsers(ctx, now, stmts, tok, live) == nil {
		return
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		ptx := preparedTx{Tx: tx, stmts: stmts}
		var events []AuditEvent
		for _, c := range live {
			c.user, c.err = SCIMUser{}, nil
			if _, err := tx.ExecContext(ctx, `SAVEPOINT scim_create`); err != nil {
				return err
			}
			u, err := createSCIMUserIn(ctx, ptx, now, tok, c.in)
			if err != nil {
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT scim_create`); rerr != nil {
					return rerr
				}
				c.err = err
				continue
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT scim_create`); err != nil {
				return err
			}
			c.user = u
			events = append(events, scimCreateAudit(tok, u, c.in))
		}
		return auditMany(ctx, tx, now, tok.AccountID, tok.Actor(), events)
	})
	if err == nil {
		return
	}
	for _, c := range live {
		c.user, c.err = s.createSCIMUserAlone(c.ctx, tok, c.in)
	}
}

// errNotAllNew stops a batch's single statement: some create in it is not
// a new person, and is made one at a time instead.
var errNotAllNew = errors.New("scim create: not every create of the batch is a new person")

// createNewSCIMUsers makes a batch whose every create is a new person (an
// address no login has, a userName the account does not use) with one
// statement, which is what an initial import sends: one statement instead
// of a savepoint and two statements for each create, which a busy database
// answers one round trip after another while the next batch waits. When
// any create is not new (a login to link or rename, a conflict), nothing is
// kept and the batch is made one create at a time; the error says so.
func (s *Store) createNewSCIMUsers(ctx context.Context, now time.Time, stmts map[string]*sqlx.Stmt, tok SCIMToken,
	batch []*scimCreate) error {
	n := len(batch)
	emails, names, externalIDs := make([]string, n), make([]string, n), make([]string, n)
	userNames, docs, active := make([]string, n), make([]string, n), make([]bool, n)
	for i, c := range batch {
		emails[i], names[i], externalIDs[i] = c.in.Email, c.in.Name, c.in.ExternalID
		userNames[i], docs[i], active[i] = c.in.UserName, string(c.in.Attributes), c.in.Active
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		var made []struct {
			Ord int `db:"ord"`
			SCIMUser
			UserID int64  `db:"user_id"`
			Email  string `db:"email"`
			Role   string `db:"role"`
			Status string `db:"status"`
		}
		if err := (preparedTx{Tx: tx, stmts: stmts}).selectAll(ctx, &made, insertNewSCIMMembersSQL, tok.AccountID,
			pq.Array(emails), pq.Array(names), pq.Array(externalIDs), pq.Array(userNames), pq.Array(docs),
			pq.Array(active), now); err != nil {
			return err
		}
		members := make(map[int64]WebhookMember, n)
		for _, m := range made {
			members[m.MembershipID] = WebhookMember{MembershipID: m.MembershipID, UserID: m.UserID, Email: m.Email,
				Role: m.Role, Status: m.Status}
		}
		// Each create made a member of its own: two creates of one
		// address make one login, and the second is a link or a conflict,
		// which only the one-at-a-time path decides.
		if len(made) != n || len(members) != n {
			return errNotAllNew
		}
		events := make([]AuditEvent, n)
		for _, m := range made {
			c := batch[m.Ord-1]
			c.user, c.err = m.SCIMUser, nil
			events[m.Ord-1] = scimCreateAudit(tok, m.SCIMUser, c.in)
		}
		return auditManyKnowing(ctx, tx, now, tok.AccountID, tok.Actor(), events, members)
	})
}

// createSCIMUserAlone makes one create in a transaction of its own.
func (s *Store) createSCIMUserAlone(ctx context.Context, tok SCIMToken, in SCIMUserInput) (SCIMUser, error) {
	now := s.Now()
	stmts, err := s.scimCreateStatements(ctx)
	if err != nil {
		return SCIMUser{}, err
	}
	var u SCIMUser
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		var err error
		if u, err = createSCIMUserIn(ctx, preparedTx{Tx: tx, stmts: stmts}, now, tok, in); err != nil {
			return err
		}
		return audit(ctx, tx, now, scimCreateAudit(tok, u, in))
	})
	if err != nil {
		return SCIMUser{}, err
	}
	return u, nil
}

// scimCreateQueries are the statements every create runs, prepared once
// per connection (see applierQueries): an initial import runs them ten
// thousand times, one batch after another.
var scimCreateQueries = []string{upsertUserSQL, insertSCIMMemberSQL, insertNewSCIMMembersSQL}

// insertNewSCIMMembersSQL makes a batch of new people: a login for each
// address and its membership, with the standing insertSCIMMemberSQL gives,
// and returns them with what their webhook events describe.
// An address with a login already, or a member already, makes no row for
// its create (fewer rows than creates: the caller makes them one at a
// time); a userName in use fails the statement. ord numbers the creates
// from 1, in the order of the arrays.
const insertNewSCIMMembersSQL = `
WITH input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[])
           WITH ORDINALITY AS i (email, name, external_id, user_name, attributes, active, ord)
), new_user AS (
    INSERT INTO app_user (email, name, created_at)
    SELECT email, name, $8 FROM input ORDER BY ord
    ON CONFLICT ((lower(email))) DO NOTHING
    RETURNING id, email
), new_member AS (
    INSERT INTO membership (account_id, user_id, role, status, source, created_at, scim_id, external_id, scim_user_name,
                            scim_attributes, scim_active, scim_created_at, scim_updated_at)
    SELECT $1, u.id, 'member',
           CASE WHEN i.active AND (SELECT unmatched_policy FROM account WHERE id = $1) = 'member'
                THEN 'active' ELSE 'deactivated' END,
           'scim', $8, gen_random_uuid()::text, nullif(i.external_id, ''), i.user_name, i.attributes::jsonb, i.active,
           $8, $8
    FROM input i JOIN new_user u ON lower(u.email) = lower(i.email)
    ORDER BY i.ord
    ON CONFLICT (account_id, user_id) DO NOTHING
    RETURNING user_id, role, status, id, scim_id, scim_user_name, external_id, scim_active, scim_attributes,
              scim_created_at, scim_updated_at
)
SELECT i.ord, m.id, m.scim_id, m.scim_user_name, m.external_id, m.scim_active, m.scim_attributes, m.scim_created_at,
       m.scim_updated_at, m.user_id, u.email, m.role, m.status
FROM new_member m JOIN new_user u ON u.id = m.user_id JOIN input i ON lower(i.email) = lower(u.email)`

// scimCreateStatements prepares scimCreateQueries on the pool, before a
// create's transaction begins (preparing takes a connection of its own).
func (s *Store) scimCreateStatements(ctx context.Context) (map[string]*sqlx.Stmt, error) {
	return s.preparedSet(ctx, scimCreateQueries)
}

// createSCIMUserIn makes the membership of one create inside tx (under the
// shared provisioning lock), without its audit entry.
func createSCIMUserIn(ctx context.Context, ptx preparedTx, now time.Time, tok SCIMToken, in SCIMUserInput) (SCIMUser, error) {
	tx := ptx.Tx
	userID, created, err := userForEmail(ctx, ptx, now, in.Email, in.Name)
	if err != nil {
		return SCIMUser{}, err
	}
	var u SCIMUser
	err = ptx.get(ctx, &u, insertSCIMMemberSQL, tok.AccountID, userID, now, in.ExternalID, in.UserName,
		string(in.Attributes), in.Active)
	if errors.Is(err, sql.ErrNoRows) { // a member already: provisioned from now on
		u, err = linkSCIMUser(ctx, tx, now, tok, userID, in)
	}
	if err != nil {
		return SCIMUser{}, scimConflict(err, in)
	}
	if !created {
		if err := renameOwnUser(ctx, tx, tok.AccountID, userID, in); err != nil {
			return SCIMUser{}, err
		}
	}
	return u, nil
}

func scimCreateAudit(tok SCIMToken, u SCIMUser, in SCIMUserInput) AuditEvent {
	return AuditEvent{AccountID: tok.AccountID, Actor: tok.Actor(), Action: "scim.user.create",
		TargetType: "membership", TargetID: itoa(u.MembershipID), After: scimUserAudit(in)}
}
