package furl

import "testing"

func TestNewURLID(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 2000 {
		id := NewURLID()
		if !ValidURLID(id) {
			t.Fatalf("NewURLID() = %q, not a valid URL id", id)
		}
		if seen[id] {
			t.Fatalf("NewURLID returned %q twice", id)
		}
		seen[id] = true
		for _, r := range id {
			counts[r]++
		}
	}
	if len(counts) != 36 {
		t.Errorf("NewURLID used %d of the 36 characters", len(counts))
	}
}

func TestURLForms(t *testing.T) {
	const id = "abcdefghijklmnopqrstuvwxyz012345"
	if got, want := URL(id, "us-east-1", "9001"), "http://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.localhost:9001/"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got, want := PathURL("http://127.0.0.1:9001/", id), "http://127.0.0.1:9001/lambda-url/"+id+"/"; got != want {
		t.Errorf("PathURL = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		host, id, region string
		ok               bool
	}{
		{id + ".lambda-url.us-east-1.localhost:9001", id, "us-east-1", true},
		{id + ".lambda-url.eu-west-3.localhost", id, "eu-west-3", true},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345.LAMBDA-URL.US-EAST-1.LOCALHOST:1", id, "us-east-1", true},
		{id + ".lambda-url.us-gov-west-1.example.com.", id, "us-gov-west-1", true},
		{id + ".lambda-url.us-east-1.on.aws", id, "us-east-1", true},
		{"[::1]:9001", "", "", false},
		{"127.0.0.1:9001", "", "", false},
		{"localhost", "", "", false},
		{id + ".lambda-url.us-east-1", "", "", false},
		{id + ".lambda.us-east-1.localhost", "", "", false},
		{"short.lambda-url.us-east-1.localhost", "", "", false},
		{id + "x.lambda-url.us-east-1.localhost", "", "", false},
		{id + ".lambda-url.nowhere.localhost", "", "", false},
		{"", "", "", false},
	} {
		gotID, gotRegion, ok := ParseHost(tc.host)
		if gotID != tc.id || gotRegion != tc.region || ok != tc.ok {
			t.Errorf("ParseHost(%q) = %q, %q, %v; want %q, %q, %v", tc.host, gotID, gotRegion, ok, tc.id, tc.region, tc.ok)
		}
	}
	for _, tc := range []struct {
		path, id, rest string
		ok             bool
	}{
		{"/lambda-url/" + id, id, "/", true},
		{"/lambda-url/" + id + "/", id, "/", true},
		{"/lambda-url/" + id + "/a/b%2Fc", id, "/a/b%2Fc", true},
		{"/lambda-url/ABCDEFGHIJKLMNOPQRSTUVWXYZ012345/x", id, "/x", true},
		{"/lambda-url/", "", "", false},
		{"/lambda-url/short/x", "", "", false},
		{"/2015-03-31/functions", "", "", false},
		{"", "", "", false},
	} {
		gotID, rest, ok := ParsePath(tc.path)
		if gotID != tc.id || rest != tc.rest || ok != tc.ok {
			t.Errorf("ParsePath(%q) = %q, %q, %v; want %q, %q, %v", tc.path, gotID, rest, ok, tc.id, tc.rest, tc.ok)
		}
	}
}
