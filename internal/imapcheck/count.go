package imapcheck

import (
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// countFolders lists the folders (under root when set) and counts each
// selectable one. On error the folders counted so far are returned.
func (s *session) countFolders(root string) ([]Folder, *Error) {
	caps := s.c.Caps()
	rev2 := caps.Has(imap.CapIMAP4rev2)
	statusSize := rev2 || caps.Has(imap.CapStatusSize)
	esearch := rev2 || caps.Has(imap.CapESearch)

	pattern, prefix := "*", ""
	if root != "" {
		if strings.ContainsAny(root, "*%") {
			return nil, &Error{Kind: KindProtocol, Message: fmt.Sprintf("UserRoot %q contains a LIST wildcard (* or %%)", root)}
		}
		s.wd.arm(s.t.CommandTimeout, `LIST "" ""`)
		top, err := s.c.List("", "", nil).Collect()
		if err != nil {
			return nil, s.classify(err, `LIST "" ""`)
		}
		var delim rune
		if len(top) > 0 {
			delim = top[0].Delim
		}
		prefix = root
		if delim != 0 {
			prefix = strings.TrimSuffix(root, string(delim)) + string(delim)
		}
		pattern = prefix + "*"
	}

	s.wd.arm(s.t.CommandTimeout, "LIST")
	list, err := s.c.List("", pattern, nil).Collect()
	if err != nil {
		return nil, s.classify(err, fmt.Sprintf("LIST %q", pattern))
	}

	type entry struct {
		folder Folder
		full   string
	}
	var entries []entry
	for _, d := range list {
		if hasAttr(d.Attrs, imap.MailboxAttrNoSelect) || hasAttr(d.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		rel := d.Mailbox
		if prefix != "" {
			if !strings.HasPrefix(d.Mailbox, prefix) || d.Mailbox == prefix {
				continue
			}
			rel = strings.TrimPrefix(d.Mailbox, prefix)
		}
		f := Folder{Name: rel}
		if strings.Contains(rel, "/") && d.Delim != '/' {
			f.Skipped, f.SkipReason = true, SlashSkipReason
		}
		entries = append(entries, entry{folder: f, full: d.Mailbox})
	}
	if root != "" && len(entries) == 0 {
		return nil, &Error{Kind: KindProtocol, Message: fmt.Sprintf("no folders found under UserRoot %q (LIST \"\" %q)", root, pattern)}
	}
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i].folder.Name, entries[j].folder.Name
		ai, bi := strings.EqualFold(a, "INBOX"), strings.EqualFold(b, "INBOX")
		if ai != bi {
			return ai
		}
		return a < b
	})

	folders := make([]Folder, 0, len(entries))
	for _, e := range entries {
		if err := s.ctx.Err(); err != nil {
			return folders, s.classify(err, "counting")
		}
		f := e.folder
		if err := s.countFolder(e.full, &f, statusSize, esearch); err != nil {
			return folders, err
		}
		folders = append(folders, f)
	}
	return folders, nil
}

// countFolder fills f's Messages, Bytes and ItemsOver35MB.
func (s *session) countFolder(name string, f *Folder, statusSize, esearch bool) *Error {
	s.wd.arm(s.t.CommandTimeout, fmt.Sprintf("STATUS %q", name))
	st, err := s.c.Status(name, &imap.StatusOptions{NumMessages: true, Size: statusSize}).Wait()
	if err != nil {
		return s.classify(err, fmt.Sprintf("STATUS %q", name))
	}
	if st.NumMessages == nil {
		return &Error{Kind: KindProtocol, Message: fmt.Sprintf("%s answered STATUS %q without MESSAGES", s.addr, name)}
	}
	f.Messages = int64(*st.NumMessages)
	if f.Messages == 0 {
		return nil
	}
	if statusSize && st.Size != nil {
		f.Bytes = *st.Size
		if f.Bytes <= MaxItemBytes {
			return nil // no single message can be over the limit
		}
		if err := s.examine(name); err != nil {
			return err
		}
		n, err := s.searchLarger(name, esearch)
		if err != nil {
			return err
		}
		f.ItemsOver35MB = n
		return nil
	}
	if err := s.examine(name); err != nil {
		return err
	}
	return s.fetchSizes(name, f)
}

func (s *session) examine(name string) *Error {
	s.wd.arm(s.t.CommandTimeout, fmt.Sprintf("EXAMINE %q", name))
	if _, err := s.c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return s.classify(err, fmt.Sprintf("EXAMINE %q", name))
	}
	return nil
}

// searchLarger counts the selected folder's messages over MaxItemBytes.
func (s *session) searchLarger(name string, esearch bool) (int64, *Error) {
	phase := fmt.Sprintf("SEARCH LARGER %d in %q", MaxItemBytes, name)
	s.wd.arm(s.t.CommandTimeout, phase)
	var opts *imap.SearchOptions
	if esearch {
		opts = &imap.SearchOptions{ReturnCount: true}
	}
	data, err := s.c.Search(&imap.SearchCriteria{Larger: MaxItemBytes}, opts).Wait()
	if err != nil {
		return 0, s.classify(err, phase)
	}
	if esearch {
		return int64(data.Count), nil
	}
	return int64(len(data.AllSeqNums())), nil
}

// fetchSizes sums RFC822.SIZE over the selected folder, streaming the answers.
func (s *session) fetchSizes(name string, f *Folder) *Error {
	phase := fmt.Sprintf("FETCH 1:* RFC822.SIZE in %q", name)
	s.wd.arm(s.t.CommandTimeout, phase)
	cmd := s.c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{RFC822Size: true})
	var n, bytes, over int64
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		s.wd.arm(s.t.CommandTimeout, phase)
		for item := msg.Next(); item != nil; item = msg.Next() {
			if sz, ok := item.(imapclient.FetchItemDataRFC822Size); ok {
				n++
				bytes += sz.Size
				if sz.Size > MaxItemBytes {
					over++
				}
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return s.classify(err, phase)
	}
	f.Messages, f.Bytes, f.ItemsOver35MB = n, bytes, over
	return nil
}

func hasAttr(attrs []imap.MailboxAttr, want imap.MailboxAttr) bool {
	for _, a := range attrs {
		if strings.EqualFold(string(a), string(want)) {
			return true
		}
	}
	return false
}
