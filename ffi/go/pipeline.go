package shmpipe

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ChannelEnvPrefix starts the environment variable through which a shmpipe
// pipeline passes each stage the segment name of a channel or table it
// declared: SHMPIPE_CHANNEL_<LOCAL NAME IN UPPER CASE> (docs/PIPELINES.md).
const ChannelEnvPrefix = "SHMPIPE_CHANNEL_"

// ErrNotInPipeline is matched (errors.Is) by the error of ChannelName when
// the pipeline did not give this stage the channel.
var ErrNotInPipeline = errors.New("shmpipe: not started by a pipeline that gives this stage the channel")

// ChannelName is, in a pipeline stage, the segment name of the pipeline's
// channel (or table) local, to pass to OpenReader, OpenWriter or OpenTable.
func ChannelName(local string) (string, error) {
	variable := ChannelEnvPrefix + strings.ToUpper(local)
	if value := os.Getenv(variable); value != "" {
		return value, nil
	}
	return "", &missingChannel{variable: variable, local: local}
}

// missingChannel words the error as the other bindings do.
type missingChannel struct{ variable, local string }

func (e *missingChannel) Error() string {
	return fmt.Sprintf("shmpipe: %s is not set: this stage must be started by a shmpipe pipeline that gives it channel %q (in the stage's reads or writes)", e.variable, e.local)
}

func (e *missingChannel) Is(target error) bool { return target == ErrNotInPipeline }
