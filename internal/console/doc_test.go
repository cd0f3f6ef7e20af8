package console

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// doc is a parsed page, read the way a person reads it: the text of
// elements found by id, tag and class.
type doc struct {
	t    *testing.T
	root *html.Node
}

func parseDoc(t *testing.T, body string) *doc {
	t.Helper()
	root, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return &doc{t: t, root: root}
}

// node is one element of a doc.
type node struct{ n *html.Node }

func (n node) attr(key string) string {
	for _, a := range n.n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// has reports whether the element has the attribute (a boolean one has
// an empty value).
func (n node) has(key string) bool {
	return slices.ContainsFunc(n.n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

func (n node) hasClass(class string) bool {
	return slices.Contains(strings.Fields(n.attr("class")), class)
}

// text is the element's text with runs of white space made one space.
func (n node) text() string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(x *html.Node) {
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
			b.WriteByte(' ')
		}
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n.n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// all returns the elements under n of tag (any tag when empty) that have
// class (any when empty).
func (n node) all(tag, class string) []node {
	var out []node
	var walk func(*html.Node)
	walk = func(x *html.Node) {
		if x.Type == html.ElementNode && (tag == "" || x.Data == tag) && (class == "" || (node{x}).hasClass(class)) {
			out = append(out, node{x})
		}
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for c := n.n.FirstChild; c != nil; c = c.NextSibling {
		walk(c)
	}
	return out
}

// one is all, failing the test unless exactly one element matches.
func (n node) one(t *testing.T, tag, class string) node {
	t.Helper()
	found := n.all(tag, class)
	if len(found) != 1 {
		t.Fatalf("want one <%s class=%q>, found %d", tag, class, len(found))
	}
	return found[0]
}

func (d *doc) node() node { return node{d.root} }

// main is the page's content.
func (d *doc) main() node {
	d.t.Helper()
	return d.byID("main")
}

// byID returns the element with id, failing the test when there is none.
func (d *doc) byID(id string) node {
	d.t.Helper()
	for _, n := range d.node().all("", "") {
		if n.attr("id") == id {
			return n
		}
	}
	d.t.Fatalf("no element with id %q", id)
	return node{}
}

// texts returns the texts of the elements of tag and class.
func (d *doc) texts(tag, class string) []string {
	var out []string
	for _, n := range d.node().all(tag, class) {
		out = append(out, n.text())
	}
	return out
}
