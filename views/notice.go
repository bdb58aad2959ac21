package views

// Notice is the outcome of a form post, carried to the page the post
// redirects to (Post/Redirect/Get) and shown there once. A refused post
// carries its field messages and what the person typed, so that the form
// shows each message beside its field with the input kept.
type Notice struct {
	Error   bool        `json:"x,omitempty"` // a refusal: shown as an alert
	Message string      `json:"m,omitempty"`
	Rows    []NoticeRow `json:"r,omitempty"` // per-item outcomes (seats, invitations)
	// Scope names the part of the page that shows Rows itself (such as
	// "subscription:12" on the seats page); empty: the flash shows them.
	Scope string     `json:"s,omitempty"`
	Form  *FormState `json:"f,omitempty"`
}

// NoticeRow is one item's outcome: who or what, a stable outcome code (for
// styling and tests) and the sentence shown.
type NoticeRow struct {
	Input   string `json:"i"`
	Outcome string `json:"o"`
	Message string `json:"m"`
}

// FormState is a refused form: its action, a message per field and the
// values as typed. static/app.js puts the messages beside the fields,
// refills them and moves focus to the first field in error; without
// JavaScript the messages still show in the flash at the top.
type FormState struct {
	Action string            `json:"a"`
	Fields map[string]string `json:"e,omitempty"`
	Values map[string]string `json:"v,omitempty"`
}
