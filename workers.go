package toolhouse

// WorkersService calls deployed agents (workers) on the Workers API and
// streams their answers.
type WorkersService service
