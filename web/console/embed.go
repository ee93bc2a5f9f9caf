// Package console holds the agent console's files: plain HTML, CSS and
// JavaScript served from the binary, with no build step and nothing fetched
// from elsewhere.
package console

import "embed"

// Files are the console's static files.
//
//go:embed index.html app.css *.js
var Files embed.FS
