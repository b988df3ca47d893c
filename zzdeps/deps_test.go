package zzdeps

import (
	_ "github.com/jarcoal/httpmock"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
)
