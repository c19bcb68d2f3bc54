// Package treecheck holds tests about the repository's own files rather than about code: that
// comments, documentation, templates and examples cite only public sources, never a file that
// lives outside the repository or a path of a development machine.
package treecheck
