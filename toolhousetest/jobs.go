package toolhousetest

import "time"

// job is a background job. It runs until its end on the server's clock,
// or, when manual, until FinishJob; nothing needs to look at it for it to
// end.
type job struct {
	id     string
	end    time.Time
	manual bool
	done   bool // ended by FinishJob
}

// running reports whether the job still runs at now.
func (j *job) running(now time.Time) bool {
	return j != nil && !j.done && (j.manual || now.Before(j.end))
}

// startJob starts a job for run as an answer's step asked (a duration,
// jobServerTime or jobUntilDone). The caller holds s.mu.
func (s *Server) startJob(run *workerRun, d time.Duration) *job {
	j := &job{id: newID()}
	switch d {
	case jobUntilDone:
		j.manual = true
	case jobServerTime:
		j.end = s.now().Add(s.cfg.jobTime)
	default:
		j.end = s.now().Add(d)
	}
	run.job, s.jobs[j.id] = j, j
	return j
}

// FinishJob ends a running background job, as if the Virtual Computer had
// finished it: the run's GET loses its x-toolhouse-job-id header and the
// run accepts a PUT again. It reports false when no job with that ID is
// running. Jobs started by StartJobFor(0) end only this way; the others
// end on the server's clock, and FinishJob ends them early.
func (s *Server) FinishJob(jobID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[jobID]
	if !j.running(s.now()) {
		return false
	}
	j.done = true
	return true
}
