package provider

import (
	"os"
	"strings"
	"testing"
)

// TestChineseDocsUseMicrosoftTerms: the Chinese documents speak as Microsoft's zh-CN admin centres
// do (迁移批处理, not 迁移批次; 你, not 您), and the user step names 使用位置 (usage location), without
// which no licence can be assigned.
func TestChineseDocsUseMicrosoftTerms(t *testing.T) {
	for _, f := range []string{"../../templates/guides/migrating-from-tencent-exmail-zh.md.tmpl", "../../examples/exmail-to-m365/README.zh-CN.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, bad := range []string{"迁移批次", "您"} {
			if n := strings.Count(text, bad); n > 0 {
				t.Errorf("%s uses %q %d times", f, bad, n)
			}
		}
		for _, want := range []string{"迁移批处理", "迁移终结点", "使用位置", "许可证"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s never says %q", f, want)
			}
		}
	}
	guide, err := os.ReadFile("../../templates/guides/migrating-from-tencent-exmail-zh.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	_, step4, _ := strings.Cut(string(guide), "## 第 4 步")
	step4, _, _ = strings.Cut(step4, "\n## ")
	if !strings.Contains(step4, "使用位置") || !strings.Contains(step4, "【用户】>【活动用户】") {
		t.Errorf("the user step (第 4 步) does not name 使用位置 and the admin-centre path 【用户】>【活动用户】")
	}
}
