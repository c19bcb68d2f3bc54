package provider

import (
	"strings"
)

// frameworkLogEnv is terraform-plugin-framework's own log level variable.
const frameworkLogEnv = "TF_LOG_SDK_FRAMEWORK"

// FrameworkLogLevel is the level to give terraform-plugin-framework's own logs when the user has
// not chosen one, or "" to leave them as they are.
//
// Without TF_LOG_SDK_FRAMEWORK the framework logs at trace level whatever Terraform keeps, and it
// writes a trace line for every value of a resource it walks, with a logging context that grows by
// one level per value (terraform-plugin-framework v1.19.0, NullifyWriteOnlyAttributes and
// MarkComputedNilsAsUnknown). For m365_users with thousands of users that is most of a plan's CPU
// time, quadratic in the number of users, and Terraform then drops every line unless TF_LOG (or
// TF_LOG_PROVIDER) asks for debug or trace. So when neither does, the framework is told the level
// Terraform keeps ("off" when logging is off) and those lines are never made. With TF_LOG=debug or
// trace nothing changes.
func FrameworkLogLevel(getenv func(string) string) string {
	if getenv(frameworkLogEnv) != "" {
		return "" // the user's choice
	}
	level := strings.ToLower(strings.TrimSpace(getenv("TF_LOG_PROVIDER")))
	if level == "" {
		level = strings.ToLower(strings.TrimSpace(getenv("TF_LOG")))
	}
	switch level {
	case "":
		return "off"
	case "info", "warn", "error", "off":
		return level
	default: // trace, debug, json and anything Terraform reads as trace
		return ""
	}
}
