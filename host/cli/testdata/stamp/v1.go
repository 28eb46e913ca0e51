//go:build !stamp_v2

package main

const version = "1.0.0"
