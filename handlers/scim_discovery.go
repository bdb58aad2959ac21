package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/scim"
)

// SCIMServiceProviderConfig answers what the server supports: PATCH and
// filters, no bulk, sort, ETags or password changes, bearer tokens.
func (h *Handler) SCIMServiceProviderConfig(c echo.Context) error {
	return writeSCIM(c, http.StatusOK, scim.NewServiceProviderConfig(h.scimConfig(c)))
}

// SCIMResourceTypes answers /ResourceTypes: User (with the enterprise
// extension) and Group.
func (h *Handler) SCIMResourceTypes(c echo.Context) error {
	return writeSCIM(c, http.StatusOK, scim.ResourceTypes(h.scimConfig(c)))
}

// SCIMResourceType answers /ResourceTypes/{id}.
func (h *Handler) SCIMResourceType(c echo.Context) error {
	t, ok := scim.FindResourceType(h.scimConfig(c), c.Param("id"))
	if !ok {
		return scim.NotFound("no resource type %q: there are User and Group", c.Param("id"))
	}
	return writeSCIM(c, http.StatusOK, t)
}

// SCIMSchemas answers /Schemas as a ListResponse (Entra reads it when
// provisioning is saved).
func (h *Handler) SCIMSchemas(c echo.Context) error {
	return writeSCIM(c, http.StatusOK, scim.Schemas(h.scimConfig(c)))
}

// SCIMSchema answers /Schemas/{urn}.
func (h *Handler) SCIMSchema(c echo.Context) error {
	s, ok := scim.FindSchema(h.scimConfig(c), c.Param("id"))
	if !ok {
		return scim.NotFound("no schema %q", c.Param("id"))
	}
	return writeSCIM(c, http.StatusOK, s)
}
