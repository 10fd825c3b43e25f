package shmpipe

import (
	"errors"
	"strings"
	"testing"
)

func TestChannelNameReadsTheVariableThePipelineSets(t *testing.T) {
	t.Setenv("SHMPIPE_CHANNEL_RAW_TICKS", "demo-42-raw_ticks")
	name, err := ChannelName("raw_ticks")
	if err != nil || name != "demo-42-raw_ticks" {
		t.Fatalf("ChannelName = %q, %v", name, err)
	}
}

func TestChannelNameMissingNamesTheVariable(t *testing.T) {
	t.Setenv("SHMPIPE_CHANNEL_TICKS", "")
	_, err := ChannelName("ticks")
	if !errors.Is(err, ErrNotInPipeline) || !strings.Contains(err.Error(), "SHMPIPE_CHANNEL_TICKS is not set") || !strings.Contains(err.Error(), `channel "ticks"`) {
		t.Fatalf("error: %v", err)
	}
}
