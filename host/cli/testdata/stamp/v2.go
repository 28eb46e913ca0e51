//go:build stamp_v2

package main

const version = "2.0.0"
