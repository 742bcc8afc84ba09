package api

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice"
)

// LoggingConfig of CreateFunction and UpdateFunctionConfiguration: its
// members' model constraints, and how a (partial) one applies to the
// stored one. The rules are those AWS's recorded answers show
// (LocalStack's TestLoggingConfig): a JSON format without levels gets
// both at INFO, a switch back to Text drops them, and the members an
// update leaves out keep their value.

const logGroupPattern = `[\.\-_/#A-Za-z0-9]+`

var (
	logFormats          = []string{sluice.LogFormatJSON, sluice.LogFormatText}
	applicationLogLevel = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	systemLogLevels     = []string{"DEBUG", "INFO", "WARN"}
	logGroupRE          = fullMatch(logGroupPattern)
)

// loggingConfigSpec is the LoggingConfig member of a request; a nil
// member was not given.
type loggingConfigSpec struct {
	LogFormat           *string `json:"LogFormat"`
	ApplicationLogLevel *string `json:"ApplicationLogLevel"`
	SystemLogLevel      *string `json:"SystemLogLevel"`
	LogGroup            *string `json:"LogGroup"`
}

// loggingConfig is the LoggingConfig of a configuration.
type loggingConfig struct {
	LogFormat           string `json:"LogFormat"`
	ApplicationLogLevel string `json:"ApplicationLogLevel,omitempty"`
	SystemLogLevel      string `json:"SystemLogLevel,omitempty"`
	LogGroup            string `json:"LogGroup"`
}

func enumOf(values []string) string { return "[" + strings.Join(values, ", ") + "]" }

// validate adds the model-constraint violations of l (when given) to v.
func (l *loggingConfigSpec) validate(v *sluice.Violations) {
	if l == nil {
		return
	}
	enum := func(value *string, field string, values []string) {
		if value != nil && !slices.Contains(values, *value) {
			v.Add(*value, "loggingConfig."+field, "Member must satisfy enum value set: "+enumOf(values))
		}
	}
	enum(l.LogFormat, "logFormat", logFormats)
	enum(l.ApplicationLogLevel, "applicationLogLevel", applicationLogLevel)
	enum(l.SystemLogLevel, "systemLogLevel", systemLogLevels)
	if g := l.LogGroup; g != nil {
		switch {
		case len(*g) < 1:
			v.Add(*g, "loggingConfig.logGroup", "Member must have length greater than or equal to 1")
		case len(*g) > sluice.MaxLogGroupLength:
			v.Add(*g, "loggingConfig.logGroup", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxLogGroupLength))
		}
		if len(*g) > 0 && !logGroupRE.MatchString(*g) {
			v.Add(*g, "loggingConfig.logGroup", "Member must satisfy regular expression pattern: "+logGroupPattern)
		}
	}
}

// check refuses log levels with the Text format, as Lambda does.
func (l *loggingConfigSpec) check() error {
	if l == nil || l.LogFormat == nil || *l.LogFormat != sluice.LogFormatText {
		return nil
	}
	if l.ApplicationLogLevel != nil || l.SystemLogLevel != nil {
		return sluice.Errorf(sluice.EInvalidParameter, `LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change the LogFormat to "JSON" and try again.`)
	}
	return nil
}

// apply returns cur with the members of l that are given.
func (l *loggingConfigSpec) apply(cur sluice.LoggingConfig) sluice.LoggingConfig {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	next := cur
	set(&next.LogFormat, l.LogFormat)
	set(&next.ApplicationLogLevel, l.ApplicationLogLevel)
	set(&next.SystemLogLevel, l.SystemLogLevel)
	set(&next.LogGroup, l.LogGroup)
	if next.LogFormat == sluice.LogFormatJSON {
		if next.ApplicationLogLevel == "" {
			next.ApplicationLogLevel = sluice.DefaultLogLevel
		}
		if next.SystemLogLevel == "" {
			next.SystemLogLevel = sluice.DefaultLogLevel
		}
	} else {
		next.ApplicationLogLevel, next.SystemLogLevel = "", ""
	}
	return next
}

// loggingConfigOf is the LoggingConfig fn answers.
func loggingConfigOf(fn *sluice.Function) loggingConfig {
	l := loggingConfig{
		LogFormat:           fn.Logging.LogFormat,
		ApplicationLogLevel: fn.Logging.ApplicationLogLevel,
		SystemLogLevel:      fn.Logging.SystemLogLevel,
		LogGroup:            fn.Logging.LogGroup,
	}
	if l.LogFormat == "" {
		l.LogFormat = sluice.LogFormatText
	}
	if l.LogGroup == "" {
		l.LogGroup = sluice.DefaultLogGroup(fn.Name)
	}
	return l
}
