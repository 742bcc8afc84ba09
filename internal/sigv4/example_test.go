package sigv4_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

func ExampleVerifier() {
	v := &sigv4.Verifier{
		Secret: sigv4.StaticCredentials("AKIDEXAMPLE", "secret"),
		Region: "us-east-1",
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sluice.MaxSyncPayload))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if _, err := v.Verify(r, body); err != nil {
			// The API's error table turns the code into the Lambda exception.
			http.Error(w, string(sluice.ErrorCodeOf(err)), http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, "signed")
	})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/2015-03-31/functions/f/invocations", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 403 missing_token
}
