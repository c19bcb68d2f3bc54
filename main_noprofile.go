//go:build !profile

package main

// startProfile does nothing without the profile build tag.
func startProfile() func() { return func() {} }
