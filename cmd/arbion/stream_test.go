package main

import (
	"context"
	"errors"
	"testing"
)

// TestTail: tail prints what the stream delivers, ends cleanly when the
// context ends, and reports why a stream stopped on its own.
func TestTail(t *testing.T) {
	boom := errors.New("socket closed")
	tests := []struct {
		name    string
		values  []int
		close   bool
		cancel  bool
		err     error
		wantErr error
	}{
		{name: "ctrl-c", values: []int{1, 2}, cancel: true},
		{name: "clean end", values: []int{1}, close: true},
		{name: "failure", values: []int{1, 2, 3}, close: true, err: boom, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := make(chan int, len(tt.values))
			for _, v := range tt.values {
				ch <- v
			}
			if tt.close {
				close(ch)
			}
			var got []int
			err := tail(ctx, ch, func() error { return tt.err }, func(v int) error {
				got = append(got, v)
				if tt.cancel && len(got) == len(tt.values) {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.values) {
				t.Errorf("printed %v, want %v", got, tt.values)
			}
		})
	}
}
