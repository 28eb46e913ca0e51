package interrupt

import (
	"bytes"
	"testing"
)

// Tables with an initializer (the function-references encoding 0x40 0x00)
// hold a function index wazero cannot compile yet: checked on the bytes.
func TestRemapTables(t *testing.T) {
	in := []byte{
		2,
		0x70, 0x00, 4, // funcref, min 4: no initializer
		0x40, 0x00, 0x70, 0x01, 1, 8, 0xd2, 5, 0x0b, // funcref, min 1 max 8, ref.func 5
	}
	out, err := remapTables(in, shift{at: 3, on: true})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), in[:len(in)-2]...), 6, 0x0b)
	if !bytes.Equal(out, want) {
		t.Fatalf("got % x, want % x", out, want)
	}
	if out, _ := remapTables(in, shift{at: 6, on: true}); !bytes.Equal(out, in) {
		t.Fatalf("an index below the import moved: % x", out)
	}
}
