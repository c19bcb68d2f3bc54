package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// TestBatchReadiness: the rounds, further pages, pending users and rows sent early are read from a
// request log and the mailboxes' ready times as the fake reports them.
func TestBatchReadiness(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	ready := map[string]time.Time{"u00001@corp.com": at(1), "u00002@corp.com": at(3), "u00003@corp.com": at(6)}
	ex := func(s float64, cmdlet, query string, rows ...string) fakecloud.RequestRecord {
		return fakecloud.RequestRecord{Time: at(s), Service: fakecloud.ServiceExchange, Cmdlet: cmdlet, Query: query, Status: 200, MigrationRows: rows}
	}
	reqs := []fakecloud.RequestRecord{
		ex(7, "New-MigrationBatch", "", "u00001@corp.com", "U00002@corp.com", "u00003@corp.com"),
		ex(0.5, "Get-Mailbox", ""),
		ex(0.6, "Get-Mailbox", "$skiptoken=abc"),
		ex(2, "Get-Mailbox", ""),
		ex(5, "Get-Mailbox", ""),
		ex(6.5, "Get-Mailbox", ""),
		{Time: at(4), Service: fakecloud.ServiceGraph, Method: "GET", Path: "/v1.0/users"},
	}
	run := BatchRun{N: 4} // u00004 never got a mailbox
	run.readiness(reqs, ready, start)
	if run.Polls != 5 || run.PollPages != 1 {
		t.Errorf("polls %d, further pages %d; want 5 and 1", run.Polls, run.PollPages)
	}
	if want := []int{4, 3, 2, 1}; !slices.Equal(run.PollPending, want) {
		t.Errorf("pending per round %v, want %v", run.PollPending, want)
	}
	if run.Ready != 3 || run.FirstReady != time.Second || run.LastReady != 6*time.Second || run.SubmitAfterLast != time.Second {
		t.Errorf("ready %d, first %s, last %s, submitted %s after; want 3, 1s, 6s, 1s", run.Ready, run.FirstReady, run.LastReady, run.SubmitAfterLast)
	}
	if run.SubmittedRows != 3 || run.EarlyRows != 0 {
		t.Errorf("rows %d, early %d; want 3 and 0", run.SubmittedRows, run.EarlyRows)
	}
	if run.ApplyExchange["Get-Mailbox"] != 5 || run.ApplyExchange["New-MigrationBatch"] != 1 {
		t.Errorf("apply cmdlets %v", run.ApplyExchange)
	}

	// A row sent before its mailbox existed is counted.
	early := BatchRun{N: 4}
	early.readiness([]fakecloud.RequestRecord{ex(5, "New-MigrationBatch", "", "u00003@corp.com", "u00001@corp.com")}, ready, start)
	if early.EarlyRows != 1 {
		t.Errorf("early rows %d, want 1 (u00003 ready at 6 s, sent at 5 s)", early.EarlyRows)
	}
}

// TestBatchHeadline: PASS at 10 Exchange requests, MISS above, with the breakdown by cmdlet.
func TestBatchHeadline(t *testing.T) {
	run := BatchRun{N: 1000, PlanNoOp: true, Polls: 3, SubmittedRows: 1000,
		PlanExchange: map[string]int{"Get-MigrationBatch": 1, "Get-MigrationUser": 2, "Get-MigrationEndpoint": 1},
		PlanPages:    map[string]int{"Get-MigrationUser": 1}}
	line := func(r BatchRun) string {
		for _, h := range (Results{Batch: &r}).Headlines() {
			if strings.Contains(h, "migration batch") {
				return h
			}
		}
		t.Fatal("no batch headline")
		return ""
	}
	want := "PASS no-op plan of a 1,000-user migration batch: 4 Exchange requests (Get-MigrationBatch 1, Get-MigrationUser 2 (1 of them further pages), " +
		"Get-MigrationUserStatistics 0, Get-MigrationEndpoint 1)"
	if got := line(run); !strings.HasPrefix(got, want) {
		t.Errorf("headline\n%s\nwant prefix\n%s", got, want)
	}
	run.PlanExchange["Get-MigrationUserStatistics"] = 7
	if got := line(run); !strings.HasPrefix(got, "MISS") || !strings.Contains(got, "11 Exchange requests") {
		t.Errorf("11 requests: %s", got)
	}
}
