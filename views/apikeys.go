package views

import "strconv"

func revokeURL(id int64) string { return "/settings/api-keys/" + strconv.FormatInt(id, 10) + "/revoke" }

func boolAttr(b bool) string { return strconv.FormatBool(b) }

var scopeLabels = map[string]string{
	"check":   "check — read entitlements",
	"usage":   "usage — report metered usage",
	"license": "license — download the offline licence",
}

func scopeLabel(scope string) string {
	if l, ok := scopeLabels[scope]; ok {
		return l
	}
	return scope
}

func revokeVendorKeyURL(id int64) string {
	return "/admin/api-keys/" + strconv.FormatInt(id, 10) + "/revoke"
}
