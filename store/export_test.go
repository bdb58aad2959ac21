package store

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// CreateSCIMUsersTogether makes creates as one batch of a token's queue
// makes them, for tests that must know which creates share a transaction
// (concurrent requests batch as they happen to arrive).
func (s *Store) CreateSCIMUsersTogether(tok SCIMToken, ins []SCIMUserInput) ([]SCIMUser, []error) {
	batch := make([]*scimCreate, len(ins))
	for i, in := range ins {
		c := &scimCreate{ctx: context.Background(), in: in, done: make(chan struct{})}
		c.err = checkSCIMUser(&c.in)
		batch[i] = c
	}
	var valid []*scimCreate
	for _, c := range batch {
		if c.err == nil {
			valid = append(valid, c)
		}
	}
	s.answer(tok, valid)
	users, errs := make([]SCIMUser, len(batch)), make([]error, len(batch))
	for i, c := range batch {
		users[i], errs[i] = c.user, c.err
	}
	return users, errs
}

// AppendAudit appends events to their account's chain in a transaction of
// its own, one at a time (audit) or together (auditMany), with nothing
// else to serialise it: for tests racing the chain.
func (s *Store) AppendAudit(ctx context.Context, together bool, events ...AuditEvent) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if together {
			return auditMany(ctx, tx, s.Now(), events[0].AccountID, events[0].Actor, events)
		}
		for _, e := range events {
			if err := audit(ctx, tx, s.Now(), e); err != nil {
				return err
			}
		}
		return nil
	})
}
