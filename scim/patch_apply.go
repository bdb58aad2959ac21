package scim

// The single steps of ApplyPatch. Each works on ApplyPatch's private copy,
// so it may change maps and slices in place.

func (a Attributes) applyOp(doc map[string]any, op Operation) error {
	if op.Path != nil {
		return a.applyAt(doc, op.Op, *op.Path, op.Value)
	}
	m, ok := op.Value.(map[string]any)
	if !ok {
		if op.Value == nil {
			return nil
		}
		return BadRequest(InvalidValue, "without a path, value is an object of attributes, not %s", describe(op.Value))
	}
	return a.applyValue(doc, op.Op, m)
}

// applyValue applies a path-less value key by key, in key order.
func (a Attributes) applyValue(doc map[string]any, op string, m map[string]any) error {
	for _, k := range sortedKeys(m) {
		p, err := ParsePath(k)
		if err != nil {
			return prefixError("value", err)
		}
		if inner, ok := m[k].(map[string]any); ok && p.Filter == nil && p.Sub == "" && isCoreURN(p.URN+":"+p.Attr) {
			// {"urn:ietf:params:scim:schemas:core:2.0:User": {...}}: core attributes live at the top.
			if err := a.applyValue(doc, op, inner); err != nil {
				return err
			}
			continue
		}
		if err := a.applyAt(doc, op, p, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// applyAt applies one operation at one path.
func (a Attributes) applyAt(doc map[string]any, op string, p Path, v any) error {
	t := resolve(doc, p)
	holder := doc
	extKey := ""
	if t.ext != "" {
		var ext any
		extKey, ext, _ = lookup(doc, t.ext)
		switch m := ext.(type) {
		case map[string]any:
			holder = m
		case nil:
			if op == "remove" {
				return nil
			}
			holder = map[string]any{}
			doc[extKey] = holder
		default:
			return BadRequest(InvalidPath, "%s holds %s, not an extension's attributes", t.ext, describe(ext))
		}
	}
	key, cur, _ := lookup(holder, t.attr)
	var next any
	var err error
	switch {
	case p.Filter != nil:
		next, err = a.applyFiltered(op, t, p, cur, v)
	case p.Sub != "":
		next, err = a.applySub(op, t, p.Sub, cur, v)
	default:
		next, err = a.applyWhole(op, t, cur, v)
	}
	if err != nil {
		return err
	}
	if unassigned(next) {
		delete(holder, key)
	} else {
		holder[key] = next
	}
	if extKey != "" {
		if len(holder) == 0 {
			delete(doc, extKey)
		} else {
			listSchema(doc, extKey)
		}
	}
	return nil
}

// listSchema adds an extension's URN to the resource's schemas when the
// resource has schemas and gains the extension's first attribute
// (RFC 7643 §3: schemas names every extension in use).
func listSchema(doc map[string]any, urn string) {
	key, v, ok := lookup(doc, "schemas")
	schemas, isList := v.([]any)
	if !ok || !isList {
		return
	}
	for _, s := range schemas {
		if s, ok := s.(string); ok && listed([]string{s}, urn) {
			return
		}
	}
	doc[key] = append(schemas, urn)
}

// applyWhole: add, replace or remove a whole attribute.
func (a Attributes) applyWhole(op string, t target, cur, v any) (any, error) {
	if op == "remove" {
		list, isList := cur.([]any)
		if v == nil || !isList {
			return nil, nil
		}
		return removeValues(list, v)
	}
	if vm, ok := v.(map[string]any); ok {
		if cm, isMap := cur.(map[string]any); isMap || t.isExtension() {
			if !isMap {
				cm = map[string]any{}
			}
			return cm, a.merge(op, t, cm, vm)
		}
	}
	x, err := a.prepareAttr(t, v)
	if err != nil {
		return nil, err
	}
	if list, isList := cur.([]any); isList && op == "add" {
		return appendUnique(list, asList(x)...), nil
	}
	if op == "add" && unassigned(x) {
		return cur, nil
	}
	if xs, isList := x.([]any); isList {
		return appendUnique(nil, xs...), nil
	}
	return x, nil
}

// merge sets the sub-attributes (or an extension's attributes) given in v;
// the others keep their values. A null removes one on replace.
func (a Attributes) merge(op string, t target, cur, v map[string]any) error {
	for _, k := range sortedKeys(v) {
		var x any
		var err error
		if t.isExtension() {
			x, err = a.prepareAttr(target{ext: t.attr, attr: k}, v[k])
		} else {
			x, err = a.prepareSub(t, k, v[k])
		}
		if err != nil {
			return err
		}
		key, _, _ := lookup(cur, k)
		switch {
		case !unassigned(x):
			cur[key] = x
		case op == "replace":
			delete(cur, key)
		}
	}
	return nil
}

// applySub: add, replace or remove a sub-attribute, of a complex attribute
// or of every value of a multi-valued one.
func (a Attributes) applySub(op string, t target, sub string, cur, v any) (any, error) {
	var x any
	if op != "remove" {
		var err error
		if x, err = a.prepareSub(t, sub, v); err != nil {
			return nil, err
		}
	}
	switch c := cur.(type) {
	case nil:
		if op == "remove" || unassigned(x) {
			return nil, nil
		}
		return map[string]any{sub: x}, nil
	case map[string]any:
		setSub(c, op, sub, x)
		return c, nil
	case []any:
		out := c[:0]
		for _, el := range c {
			if m, ok := el.(map[string]any); ok {
				setSub(m, op, sub, x)
			}
			if !unassigned(el) {
				out = append(out, el)
			}
		}
		return out, nil
	}
	return nil, BadRequest(InvalidPath, "%s has no sub-attributes: it holds %s", t.name(""), describe(cur))
}

func setSub(m map[string]any, op, sub string, x any) {
	key, _, _ := lookup(m, sub)
	switch {
	case op != "remove" && !unassigned(x):
		m[key] = x
	case op != "add":
		delete(m, key)
	}
}

// applyFiltered: an operation on the values of a multi-valued attribute
// that match a filter, such as members[value eq "…"] or
// emails[type eq "work"].value.
func (a Attributes) applyFiltered(op string, t target, p Path, cur, v any) (any, error) {
	list, isList := cur.([]any)
	if !isList && cur != nil {
		return nil, BadRequest(InvalidPath, "%s is not multi-valued, so it takes no filter [%s]", t.name(""), p.Filter)
	}
	vm, isMap := v.(map[string]any)
	if p.Sub == "" && op != "remove" && v != nil && !isMap {
		return nil, BadRequest(InvalidValue, "%s selects whole values: value is an object of sub-attributes, not %s", p, describe(v))
	}
	change := func(m map[string]any) error {
		switch {
		case p.Sub != "" && op == "remove":
			setSub(m, op, p.Sub, nil)
		case p.Sub != "":
			x, err := a.prepareSub(t, p.Sub, v)
			setSub(m, op, p.Sub, x)
			return err
		case v == nil && op == "replace":
			clear(m)
		case v != nil:
			return a.merge(op, t, m, vm)
		}
		return nil
	}
	matched := false
	out := make([]any, 0, len(list)+1)
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok || !a.eval(p.Filter, m, &t) {
			out = append(out, el)
			continue
		}
		matched = true
		if op == "remove" && p.Sub == "" {
			continue
		}
		if err := change(m); err != nil {
			return nil, err
		}
		if !unassigned(m) {
			out = append(out, m)
		}
	}
	if matched || op == "remove" || v == nil {
		return out, nil
	}
	el, ok := a.newValue(t, p.Filter)
	if !ok {
		return nil, BadRequest(NoTarget, "no value of %s matches [%s]", t.name(""), p.Filter)
	}
	if err := change(el); err != nil {
		return nil, err
	}
	return append(out, el), nil
}

// newValue builds the value a filter of "eq" terms describes, such as
// {"type": "work"} for [type eq "work"]; ok is false for any other filter.
func (a Attributes) newValue(t target, f Expr) (map[string]any, bool) {
	terms, ok := EqualityTerms(f)
	if !ok {
		return nil, false
	}
	el := map[string]any{}
	for _, term := range terms {
		p := term.Path
		if p.URN != "" || p.Sub != "" || p.Filter != nil || term.Value == nil {
			return nil, false
		}
		x, err := a.prepareSub(t, p.Attr, term.Value)
		if err != nil {
			return nil, false
		}
		el[p.Attr] = x
	}
	return el, a.eval(f, el, &t)
}

// removeValues removes the values listed in v. A listed object with a
// "value" names the value by it alone (Okta and Entra identify members by
// id, whatever display name they add); other objects match on every
// sub-attribute they give.
func removeValues(list []any, v any) (any, error) {
	var crits []any
	for _, c := range asList(v) {
		if c = deepClean(c); unassigned(c) {
			return nil, BadRequest(InvalidValue, "a value to remove names it, as {\"value\": \"…\"}, not %s", describe(c))
		}
		crits = append(crits, c)
	}
	out := make([]any, 0, len(list))
	for _, el := range list {
		if !matchesAny(el, crits) {
			out = append(out, el)
		}
	}
	return out, nil
}

func matchesAny(el any, crits []any) bool {
	m, isMap := el.(map[string]any)
	for _, c := range crits {
		cm, ok := c.(map[string]any)
		if !ok {
			if sameValue(el, c) || isMap && sameValue(get(m, "value"), c) {
				return true
			}
			continue
		}
		if id, ok := lookupValue(cm); ok {
			if isMap && sameValue(get(m, "value"), id) {
				return true
			}
			continue
		}
		all := isMap
		for k, x := range cm {
			all = all && sameValue(get(m, k), x)
		}
		if all {
			return true
		}
	}
	return false
}

func lookupValue(m map[string]any) (any, bool) {
	_, v, ok := lookup(m, "value")
	return v, ok
}

// appendUnique appends values not already present. A complex value with the
// same "value" and "type" as one present is the same value: its other
// sub-attributes update that one (Okta adds members with their display).
func appendUnique(list []any, xs ...any) []any {
	out := append([]any(nil), list...)
	for _, x := range xs {
		i := indexOf(out, x)
		if i < 0 {
			out = append(out, x)
			continue
		}
		dst, ok1 := out[i].(map[string]any)
		src, ok2 := x.(map[string]any)
		if ok1 && ok2 {
			for _, k := range sortedKeys(src) {
				key, _, _ := lookup(dst, k)
				dst[key] = src[k]
			}
		}
	}
	return out
}

func indexOf(list []any, x any) int {
	xm, isMap := x.(map[string]any)
	for i, el := range list {
		if sameValue(el, x) {
			return i
		}
		m, ok := el.(map[string]any)
		if isMap && ok && assigned(get(m, "value")) &&
			sameValue(get(m, "value"), get(xm, "value")) && sameValue(get(m, "type"), get(xm, "type")) {
			return i
		}
	}
	return -1
}

func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}
