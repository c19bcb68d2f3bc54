package provider

import "testing"

func TestFrameworkLogLevel(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "off"},
		{map[string]string{"TF_LOG": "TRACE"}, ""},
		{map[string]string{"TF_LOG": "debug"}, ""},
		{map[string]string{"TF_LOG": "json"}, ""},
		{map[string]string{"TF_LOG": "INFO"}, "info"},
		{map[string]string{"TF_LOG": "warn"}, "warn"},
		{map[string]string{"TF_LOG": "off"}, "off"},
		{map[string]string{"TF_LOG": "trace", "TF_LOG_PROVIDER": "error"}, "error"},
		{map[string]string{"TF_LOG": "off", "TF_LOG_PROVIDER": "trace"}, ""},
		{map[string]string{"TF_LOG_CORE": "trace"}, "off"},
		{map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"}, ""},
		{map[string]string{"TF_LOG_SDK_FRAMEWORK": "off", "TF_LOG": "trace"}, ""},
	}
	for _, c := range cases {
		if got := FrameworkLogLevel(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("FrameworkLogLevel(%v) = %q, want %q", c.env, got, c.want)
		}
	}
}
