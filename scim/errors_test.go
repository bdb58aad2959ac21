package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestErrorDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"invalid filter", BadRequest(InvalidFilter, "bad %s", "filter"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter"}`},
		{"not found has no scimType", NotFound("User %s not found", "2819c223"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"User 2819c223 not found"}`},
		{"401 gets a detail even when none is given", Unauthorized(""),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"Unauthorized"}`},
		{"a struct literal without detail", &Error{Status: 404},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"Not Found"}`},
		{"uniqueness", Conflict("userName %q is taken", "bob@x.com"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName \"bob@x.com\" is taken"}`},
		{"an unknown status", &Error{Status: 599},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"599","detail":"Error 599"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.err)
			if err != nil || string(b) != tt.want {
				t.Fatalf("json = %s, %v\nwant %s", b, err, tt.want)
			}
			var back Error
			if err := json.Unmarshal(b, &back); err != nil || back.Status != tt.err.Status || back.ScimType != tt.err.ScimType {
				t.Errorf("read back %+v, %v", back, err)
			}
		})
	}
}

func TestAsError(t *testing.T) {
	t.Parallel()
	wrapped := fmt.Errorf("handler: %w", BadRequest(TooMany, "too many"))
	if e := AsError(wrapped); e.Status != 400 || e.ScimType != TooMany {
		t.Errorf("AsError(wrapped) = %+v", e)
	}
	e := AsError(errors.New("pq: connection refused"))
	if e.Status != 500 || e.Detail == "" || e.Detail == "pq: connection refused" {
		t.Errorf("AsError(other) = %+v: want a 500 that hides the cause", e)
	}
	if got := BadRequest(InvalidPath, "x").Error(); got != "scim 400 invalidPath: x" {
		t.Errorf("Error() = %q", got)
	}
}
