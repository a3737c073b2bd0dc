package browser_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tribusmq/tribus/internal/browser"
)

// Example loads a page, waits for its script and reads what it rendered. It has no Output
// line, so it is compiled but not run: it needs Chromium. A dashboard test serves
// dashboard.New's handler where this serves a constant page.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<ul></ul><script>
			setTimeout(() => document.querySelector("ul").innerHTML = "<li>orders</li><li>audit</li>", 100)
		</script>`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	path, err := browser.Find()
	if errors.Is(err, browser.ErrNoBrowser) {
		fmt.Println("skipped:", err)
		return
	}
	b, err := browser.Start(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	page, err := b.NewPage(ctx, srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := page.WaitFor(ctx, `document.querySelectorAll("li").length === 2`); err != nil {
		fmt.Println(err)
		return
	}
	names, err := page.Eval(ctx, `[...document.querySelectorAll("li")].map(li => li.textContent)`)
	fmt.Println(string(names), err) // ["orders","audit"] <nil>

	_, err = page.Eval(ctx, `JSON.parse("{")`)
	fmt.Println(errors.Is(err, browser.ErrException)) // true
}
