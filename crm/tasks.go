package crm

import (
	"context"
	"time"
)

// TaskQuery filters ListTasks. Zero values mean no filter.
type TaskQuery struct {
	// ID picks one task.
	ID        int64
	ContactID int64
	Assignee  string
	// Open keeps only tasks not done.
	Open bool
	// DueBefore keeps tasks due strictly before it.
	DueBefore time.Time
	// AfterID continues a listing after the task with that ID, the last of
	// the previous page. Paging follows the listing's own order rather than
	// IDs, since a task added later may fall due sooner.
	AfterID int64
	// Limit is clamped to 1..MaxListLimit; zero or less means MaxListLimit.
	Limit int
}

// TaskLister pages through follow-up tasks, done or not. Both database
// stores implement it.
type TaskLister interface {
	// ListTasks returns tasks soonest due first, then oldest first, with
	// DoneAt set on those done.
	ListTasks(ctx context.Context, q TaskQuery) ([]Task, error)
}
