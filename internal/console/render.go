package console

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/api"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// page is what the layout renders around a screen's own content.
type page struct {
	// Title names the screen in the tab.
	Title string
	// Workspace is the workspace the screen shows; empty on the home page.
	Workspace string
	// Nav is the navigation entry of the screen: grid, versions, jobs or
	// policies.
	Nav string
	// TokenRequired tells the script to send the bearer token.
	TokenRequired bool
	// Locked is set when the request carried no valid token: the layout
	// shows a prompt for it instead of the content.
	Locked bool
	// Now is when the page was rendered, by the engine's clock.
	Now time.Time
	// Body is the screen's data.
	Body any
	// template is the screen's template set.
	template string
	// redirect, when set, answers with a redirect there instead.
	redirect string
}

// screens are the template files of the screens, each parsed with the
// layout and the shared parts into a set of its own.
var screens = []string{"home", "grid", "target", "versions", "plan", "jobs", "policies", "error"}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range screens {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/parts.html", "templates/"+name+".html"))
	}
	return out
}

// timeLayout is how the console writes an instant: always with the date,
// always in UTC, as the CLI's explain does.
const timeLayout = "2006-01-02 15:04:05 UTC"

var funcs = template.FuncMap{
	"at": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			if !t.IsZero() {
				return t.UTC().Format(timeLayout)
			}
		case *time.Time:
			if t != nil && !t.IsZero() {
				return t.UTC().Format(timeLayout)
			}
		}
		return "—"
	},
	"short": func(id string) string {
		if len(id) > 8 {
			return id[:8]
		}
		return id
	},
	"wsURL": workspaceURL,
	"targetURL": func(ws string, t *model.ReleaseTarget) string {
		return targetURL(ws, t)
	},
	"json": func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return "?"
		}
		return string(b)
	},
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}

// workspaceURL is the path of a workspace's screen ("" for the grid).
func workspaceURL(ws, screen string) string {
	p := Prefix + "workspaces/" + url.PathEscape(ws)
	if screen != "" {
		p += "/" + screen
	}
	return p
}

// targetURL is the path of a release target's page.
func targetURL(ws string, t *model.ReleaseTarget) string {
	return workspaceURL(ws, "targets/"+url.PathEscape(t.ResourceID)+"/"+url.PathEscape(t.EnvironmentID)+"/"+
		url.PathEscape(t.DeploymentID))
}

// page wraps a screen: it checks the token (a request without it gets the
// layout with a prompt for it, 401), lets build fill the page, and renders
// it, or the error page for build's error.
func (c *Console) page(build func(r *http.Request, p *page) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := &page{TokenRequired: c.cfg.Tokens != nil, Now: c.engine.Now(), Workspace: r.PathValue("ws")}
		if _, challenge, ok := c.check(r); !ok {
			w.Header().Set("WWW-Authenticate", challenge)
			p.Title, p.Locked, p.template = "Token required", true, "error"
			p.Body = errorPage{Status: http.StatusUnauthorized, Message: "This server requires a bearer token."}
			c.render(w, r, http.StatusUnauthorized, p)
			return
		}
		if err := build(r, p); err != nil {
			status := api.StatusOf(err)
			msg := err.Error()
			if status == http.StatusInternalServerError {
				c.logger.Error("console page failed", "path", r.URL.Path, "err", err)
				msg = "Something went wrong reading this page; the server's log has the details."
			}
			c.renderError(w, r, status, msg)
			return
		}
		if p.redirect != "" {
			http.Redirect(w, r, p.redirect, http.StatusSeeOther)
			return
		}
		c.render(w, r, http.StatusOK, p)
	}
}

// errorPage is the body of the error screen.
type errorPage struct {
	Status  int
	Message string
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p := &page{Title: http.StatusText(status), TokenRequired: c.cfg.Tokens != nil, Now: c.engine.Now(),
		Workspace: r.PathValue("ws"), template: "error", Body: errorPage{Status: status, Message: msg}}
	c.render(w, r, status, p)
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, p *page) {
	var buf bytes.Buffer
	if err := c.pages[p.template].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.logger.Error("console template failed", "path", r.URL.Path, "template", p.template, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// read returns a read view of workspace ws, or ENOTFOUND. Every read of one
// page goes through one view, so a page never shows part of a commit; done
// ends it and must be called.
func (c *Console) read(ws string) (store.Snapshot, func(), error) {
	w, ok := c.engine.Workspace(ws)
	if !ok {
		return store.Snapshot{}, func() {}, model.Errorf(model.ENOTFOUND,
			"Workspace %q does not exist: a workspace exists once an event was applied to it.", ws)
	}
	snap, done := w.Store().Read()
	return snap, done, nil
}

// errorBody is the JSON of an action's error, as the API shapes its own.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeActionError answers an action's error with the API's status for
// its code.
func (c *Console) writeActionError(w http.ResponseWriter, r *http.Request, err error) {
	status := api.StatusOf(err)
	body := errorBody{Error: err.Error(), Code: model.ErrorCode(err), Field: model.ErrorField(err)}
	if status == http.StatusInternalServerError {
		c.logger.Error("console action failed", "path", r.URL.Path, "err", err)
		body.Error, body.Field = "internal error", ""
	}
	writeJSON(w, status, body)
}

// nameOr returns name, or fallback when name is blank.
func nameOr(name, fallback string) string {
	if strings.TrimSpace(name) != "" {
		return name
	}
	return fallback
}
