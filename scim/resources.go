package scim

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3).
const (
	UserSchema           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

	ServiceProviderConfigSchema = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeSchema          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema                = "urn:ietf:params:scim:schemas:core:2.0:Schema"

	ListResponseSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ErrorSchema        = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// ListResponse is the answer to a query (RFC 7644 §3.4.2). The figures are
// integers, never strings (Okta checks), and Resources is [] rather than null
// when nothing matched: a query without a match is a 200 with
// totalResults 0, which Entra's Test Connection expects.
type ListResponse[T any] struct {
	TotalResults int
	StartIndex   int
	ItemsPerPage int
	Resources    []T
}

// NewListResponse answers one page of a query that matched total resources.
func NewListResponse[T any](resources []T, total int, page Page) ListResponse[T] {
	return ListResponse[T]{TotalResults: total, StartIndex: page.StartIndex, ItemsPerPage: len(resources), Resources: resources}
}

// MarshalJSON writes the ListResponse message with its schema.
func (l ListResponse[T]) MarshalJSON() ([]byte, error) {
	resources := l.Resources
	if resources == nil {
		resources = []T{}
	}
	start := max(l.StartIndex, 1)
	return json.Marshal(struct {
		Schemas      []string `json:"schemas"`
		TotalResults int      `json:"totalResults"`
		StartIndex   int      `json:"startIndex"`
		ItemsPerPage int      `json:"itemsPerPage"`
		Resources    []T      `json:"Resources"`
	}{[]string{ListResponseSchema}, l.TotalResults, start, l.ItemsPerPage, resources})
}

// Page is the slice of results a query asks for (RFC 7644 §3.4.2.4).
type Page struct {
	StartIndex int // 1-based
	Count      int // at most the server's maximum; 0 asks for totalResults only
}

// Offset is the number of results to skip, for SQL's OFFSET.
func (p Page) Offset() int { return p.StartIndex - 1 }

// ParsePage reads the startIndex and count query parameters ("" when
// absent). A startIndex below 1 means 1 and a negative count means 0, as the
// RFC says; a missing count or one above maxCount means maxCount, the
// filter.maxResults the server announces. Okta pages with count=100. A value
// that is not an integer is a 400 invalidValue.
func ParsePage(startIndex, count string, maxCount int) (Page, error) {
	page := Page{StartIndex: 1, Count: maxCount}
	if startIndex != "" {
		n, err := parseInt("startIndex", startIndex)
		if err != nil {
			return Page{}, err
		}
		page.StartIndex = min(max(n, 1), math.MaxInt32)
	}
	if count != "" {
		n, err := parseInt("count", count)
		if err != nil {
			return Page{}, err
		}
		page.Count = min(max(n, 0), maxCount)
	}
	return page, nil
}

func parseInt(name, s string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	switch {
	case err == nil:
		return int(max(min(n, math.MaxInt32), math.MinInt32)), nil
	case strings.Contains(err.Error(), "out of range"):
		if strings.HasPrefix(strings.TrimSpace(s), "-") {
			return math.MinInt32, nil
		}
		return math.MaxInt32, nil
	}
	return 0, BadRequest(InvalidValue, "%s is a whole number, not %q", name, s)
}

// Manager is the enterprise extension's manager (RFC 7643 §4.3).
type Manager struct {
	Value       string `json:"value"` // the manager's id
	Ref         string `json:"$ref,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// ParseManager reads a manager in either shape identity providers send: a
// bare id string (Entra, also as a PATCH value) or the RFC's object
// {"value": …, "displayName": …} (OneLogin). ok is false when unassigned.
func ParseManager(v any) (m Manager, ok bool, err error) {
	switch v := v.(type) {
	case nil:
		return Manager{}, false, nil
	case string:
		return Manager{Value: v}, v != "", nil
	case map[string]any:
		for _, f := range []struct {
			name string
			dst  *string
		}{{"value", &m.Value}, {"$ref", &m.Ref}, {"displayName", &m.DisplayName}} {
			switch x := get(v, f.name).(type) {
			case string:
				*f.dst = x
			case nil:
			default:
				return Manager{}, false, BadRequest(InvalidValue, "manager.%s is a string, not %s", f.name, describe(x))
			}
		}
		return m, m.Value != "", nil
	}
	return Manager{}, false, BadRequest(InvalidValue, "manager is an id or {\"value\": id}, not %s", describe(v))
}

// NormalizeUser stores the enterprise manager in the RFC's object form,
// whichever shape it arrived in, so that readers and filters
// (manager.value eq "…") see one shape. It is UserAttributes' Normalize.
func NormalizeUser(doc map[string]any) error {
	extKey, ext, _ := lookup(doc, EnterpriseUserSchema)
	m, ok := ext.(map[string]any)
	if !ok {
		return nil
	}
	key, v, found := lookup(m, "manager")
	if !found {
		return nil
	}
	mgr, ok, err := ParseManager(v)
	switch {
	case err != nil:
		return err
	case !ok:
		delete(m, key)
	case mgr.Value != "":
		out := map[string]any{"value": mgr.Value}
		if mgr.Ref != "" {
			out["$ref"] = mgr.Ref
		}
		if mgr.DisplayName != "" {
			out["displayName"] = mgr.DisplayName
		}
		m[key] = out
	}
	if len(m) == 0 {
		delete(doc, extKey)
	}
	return nil
}

// UserSummary is what the store keeps in columns of a provisioned user; the
// document itself is kept as sent (Entra asks for values to be stored as
// sent, userName's case included).
type UserSummary struct {
	UserName    string
	ExternalID  string
	DisplayName string
	Email       string // the primary email, else the work one, else the first
	Active      bool   // absent means active: Okta and Entra deactivate with an explicit false
	ManagerID   string
}

// SummarizeUser reads a user document. userName is required (RFC 7643 §4.1).
func SummarizeUser(doc map[string]any) (UserSummary, error) {
	s := UserSummary{Active: true}
	var err error
	if s.UserName, err = stringAttr(doc, "userName"); err == nil && strings.TrimSpace(s.UserName) == "" {
		err = BadRequest(InvalidValue, "userName is required")
	}
	if err != nil {
		return UserSummary{}, err
	}
	if s.ExternalID, err = stringAttr(doc, "externalId"); err != nil {
		return UserSummary{}, err
	}
	if s.DisplayName, err = stringAttr(doc, "displayName"); err != nil {
		return UserSummary{}, err
	}
	if v := get(doc, "active"); v != nil {
		if s.Active, err = boolAttr(v); err != nil {
			return UserSummary{}, err
		}
	}
	s.Email = primaryEmail(asList(get(doc, "emails")))
	ext, _ := get(doc, EnterpriseUserSchema).(map[string]any)
	mgr, _, err := ParseManager(get(ext, "manager"))
	s.ManagerID = mgr.Value
	return s, err
}

func boolAttr(v any) (bool, error) {
	b, ok := parseBool(v)
	if !ok {
		return false, BadRequest(InvalidValue, "active is a boolean: send true or false, not %s", describe(v))
	}
	return b, nil
}

func primaryEmail(emails []any) string {
	var first, work string
	for _, e := range emails {
		m, _ := e.(map[string]any)
		value, _ := get(m, "value").(string)
		if value == "" {
			continue
		}
		if primary, _ := parseBool(get(m, "primary")); primary {
			return value
		}
		if typ, _ := get(m, "type").(string); work == "" && strings.EqualFold(typ, "work") {
			work = value
		}
		if first == "" {
			first = value
		}
	}
	if work != "" {
		return work
	}
	return first
}

// GroupSummary is what the store keeps of a provisioned group.
type GroupSummary struct {
	DisplayName string
	ExternalID  string
	MemberIDs   []string // members' "value", in document order, without repeats
}

// SummarizeGroup reads a group document. displayName is required, and is how
// Entra and JumpCloud find an existing group.
func SummarizeGroup(doc map[string]any) (GroupSummary, error) {
	var s GroupSummary
	var err error
	if s.DisplayName, err = stringAttr(doc, "displayName"); err == nil && strings.TrimSpace(s.DisplayName) == "" {
		err = BadRequest(InvalidValue, "displayName is required")
	}
	if err != nil {
		return GroupSummary{}, err
	}
	if s.ExternalID, err = stringAttr(doc, "externalId"); err != nil {
		return GroupSummary{}, err
	}
	seen := map[string]bool{}
	for i, m := range asList(get(doc, "members")) {
		mm, _ := m.(map[string]any)
		id, ok := get(mm, "value").(string)
		if !ok || id == "" {
			return GroupSummary{}, BadRequest(InvalidValue, "members[%d] names a member by its id, as {\"value\": \"…\"}, not %s", i, describe(m))
		}
		if !seen[id] {
			seen[id] = true
			s.MemberIDs = append(s.MemberIDs, id)
		}
	}
	return s, nil
}

func stringAttr(doc map[string]any, name string) (string, error) {
	switch v := get(doc, name).(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", BadRequest(InvalidValue, "%s is a string, not %s", name, describe(v))
	}
}

// location joins the base URL and a path for meta.location.
func location(base string, parts ...string) string {
	return strings.TrimRight(base, "/") + "/" + strings.Join(parts, "/")
}
