package toolhousetest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// TextToCron is the server's text-to-cron endpoint: it turns a plain
// description into a five-field cron expression (UTC), and reports false
// for text it does not understand (the endpoint's 400 "Invalid cron text
// input"). A cron expression is returned as it is.
//
// It understands, in any combination that makes sense and in any case:
// intervals ("every minute", "every 10 minutes", "hourly", "every 3 hours"),
// days ("daily", "every day", "weekdays", "weekends", "weekly", "monthly",
// day names such as "monday", "sundays" or "tue", and lists of them), and
// one time of day ("9am", "5:30pm", "17:00", "noon", "midnight"), with
// fillers such as "every", "at", "on", "and" and the zones "UTC" and
// "GMT". Examples: "sundays at 5pm UTC" is "0 17 * * 0", "weekdays at 9am"
// is "0 9 * * 1-5", "every 10 minutes" is "*/10 * * * *".
func TextToCron(text string) (string, bool) {
	if isCron(text) {
		return strings.Join(strings.Fields(text), " "), true
	}
	text = strings.ToLower(strings.TrimSpace(text))
	var spec cronSpec
	if !spec.parse(text) {
		return "", false
	}
	return spec.build()
}

var (
	ampmRe   = regexp.MustCompile(`\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)`)
	clockRe  = regexp.MustCompile(`\b(\d{1,2}):(\d{2})\b`)
	fillers  = []string{"every", "each", "at", "on", "the", "and", "utc", "gmt", "z", "o'clock"}
	dayNames = map[string]int{
		"sunday": 0, "sundays": 0, "sun": 0,
		"monday": 1, "mondays": 1, "mon": 1,
		"tuesday": 2, "tuesdays": 2, "tue": 2, "tues": 2,
		"wednesday": 3, "wednesdays": 3, "wed": 3,
		"thursday": 4, "thursdays": 4, "thu": 4, "thurs": 4,
		"friday": 5, "fridays": 5, "fri": 5,
		"saturday": 6, "saturdays": 6, "sat": 6,
	}
)

// cronSpec collects what a phrase says.
type cronSpec struct {
	everyMinutes, everyHours int
	hasTime                  bool
	hour, minute             int
	days                     []int // days of the week
	weekly, monthly, daily   bool
}

func (c *cronSpec) setTime(h, m int) bool {
	if c.hasTime || h < 0 || h > 23 || m < 0 || m > 59 {
		return false
	}
	c.hasTime, c.hour, c.minute = true, h, m
	return true
}

// parse reads the phrase; false means it is not understood.
func (c *cronSpec) parse(text string) bool {
	ok := true
	// Times become one "@HhM" token before the phrase is split into words.
	text = ampmRe.ReplaceAllStringFunc(text, func(m string) string {
		g := ampmRe.FindStringSubmatch(m)
		h, _ := strconv.Atoi(g[1])
		mins := 0
		if g[2] != "" {
			mins, _ = strconv.Atoi(g[2])
		}
		if h < 1 || h > 12 {
			ok = false
		}
		h %= 12
		if strings.HasPrefix(g[3], "p") {
			h += 12
		}
		return fmt.Sprintf(" @%dh%d ", h, mins)
	})
	text = clockRe.ReplaceAllString(text, " @${1}h${2} ")
	text = strings.NewReplacer(",", " ", ";", " ").Replace(text)
	words := slices.DeleteFunc(strings.Fields(text), func(w string) bool { return slices.Contains(fillers, w) })
	if !ok || len(words) == 0 {
		return false
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if d, isDay := dayNames[w]; isDay {
			c.days = append(c.days, d)
			continue
		}
		switch w {
		case "noon", "midday":
			ok = c.setTime(12, 0)
		case "midnight":
			ok = c.setTime(0, 0)
		case "minute", "min":
			ok = c.setInterval(&c.everyMinutes, 1)
		case "hour", "hr", "hourly":
			ok = c.setInterval(&c.everyHours, 1)
		case "day", "days", "daily", "everyday":
			c.daily = true
		case "weekday", "weekdays":
			c.days = append(c.days, 1, 2, 3, 4, 5)
		case "weekend", "weekends":
			c.days = append(c.days, 0, 6)
		case "week", "weekly":
			c.weekly = true
		case "month", "monthly":
			c.monthly = true
		default:
			switch {
			case strings.HasPrefix(w, "@"):
				h, m, _ := strings.Cut(w[1:], "h")
				hh, err1 := strconv.Atoi(h)
				mm, err2 := strconv.Atoi(m)
				ok = err1 == nil && err2 == nil && c.setTime(hh, mm)
			case i+1 < len(words):
				n, err := strconv.Atoi(w)
				if err != nil {
					return false
				}
				i++
				switch words[i] {
				case "minute", "minutes", "min", "mins":
					ok = c.setInterval(&c.everyMinutes, n)
				case "hour", "hours", "hr", "hrs":
					ok = c.setInterval(&c.everyHours, n)
				default:
					return false
				}
			default:
				return false
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c *cronSpec) setInterval(field *int, n int) bool {
	if c.everyMinutes != 0 || c.everyHours != 0 || n < 1 {
		return false
	}
	*field = n
	return true
}

// build turns the spec into cron, refusing combinations that make no sense.
func (c *cronSpec) build() (string, bool) {
	minute, hour, dom, dow := "0", "0", "*", "*"
	switch {
	case c.everyMinutes > 0:
		if c.everyMinutes > 59 || c.hasTime || c.monthly || c.weekly {
			return "", false
		}
		minute, hour = "*", "*"
		if c.everyMinutes > 1 {
			minute = "*/" + strconv.Itoa(c.everyMinutes)
		}
	case c.everyHours > 0:
		if c.everyHours > 23 || c.hasTime || c.monthly || c.weekly {
			return "", false
		}
		hour = "*"
		if c.everyHours > 1 {
			hour = "*/" + strconv.Itoa(c.everyHours)
		}
	default:
		if !c.hasTime && !c.daily && !c.weekly && !c.monthly && len(c.days) == 0 {
			return "", false
		}
		minute, hour = strconv.Itoa(c.minute), strconv.Itoa(c.hour)
	}
	if c.monthly {
		if len(c.days) > 0 || c.weekly {
			return "", false
		}
		dom = "1"
	}
	if c.weekly && len(c.days) == 0 {
		dow = "0"
	}
	if len(c.days) > 0 {
		if c.daily {
			return "", false
		}
		days := slices.Compact(slices.Sorted(slices.Values(c.days)))
		if slices.Equal(days, []int{1, 2, 3, 4, 5}) {
			dow = "1-5"
		} else {
			parts := make([]string, len(days))
			for i, d := range days {
				parts[i] = strconv.Itoa(d)
			}
			dow = strings.Join(parts, ",")
		}
	}
	return strings.Join([]string{minute, hour, dom, "*", dow}, " "), true
}

// cronFields are the bounds of the five cron fields, and the names the
// month and day-of-week fields accept.
var cronFields = []struct {
	lo, hi int
	names  map[string]int
}{
	{0, 59, nil},
	{0, 23, nil},
	{1, 31, nil},
	{1, 12, map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{0, 7, map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

// isCron reports whether expr is a five-field cron expression.
func isCron(expr string) bool {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return false
	}
	for i, f := range fields {
		if _, ok := expand(f, i); !ok {
			return false
		}
	}
	return true
}

// expand returns the values a cron field matches as a set: bit v stands
// for value v (every field's values are below 64). Each item of a list
// sets at most 64 bits, so the time is linear in the field's length,
// whatever a client sends.
func expand(field string, index int) (uint64, bool) {
	spec := cronFields[index]
	value := func(s string) (int, bool) {
		if n, ok := spec.names[strings.ToLower(s)]; ok {
			return n, true
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= spec.lo && n <= spec.hi
	}
	var set uint64
	for rest, more := field, true; more; {
		var item string
		item, rest, more = strings.Cut(rest, ",")
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, false
			}
			// A step past the field's span matches the start only; capped,
			// v += step cannot overflow into a negative shift.
			step = min(n, 64)
		}
		lo, hi := spec.lo, spec.hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var ok bool
			if lo, ok = value(a); !ok {
				return 0, false
			}
			hi = lo
			if isRange {
				if hi, ok = value(b); !ok || hi < lo {
					return 0, false
				}
			} else if hasStep {
				hi = spec.hi
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, true
}

// cadenceCron reads a schedule's cadence, cron or plain text, and clamps
// it: the platform runs a schedule at most every 10 minutes, so a minute
// field that fires more often becomes "*/10".
func cadenceCron(cadence string) (string, bool) {
	cron, ok := TextToCron(cadence)
	if !ok {
		return "", false
	}
	fields := strings.Fields(cron)
	minutes, _ := expand(fields[0], 0)
	hours, _ := expand(fields[1], 1)
	if minGap(minutes, hours) < 10 {
		fields[0] = "*/10"
	}
	return strings.Join(fields, " "), true
}

// minGap is the shortest time in minutes between two firings of a
// minute field, counting the step over the hour when two consecutive
// hours fire. It looks at each minute and hour once.
func minGap(minutes, hours uint64) int {
	gap, first, last := 60, -1, -1
	for m := range 60 {
		if minutes&(1<<m) == 0 {
			continue
		}
		if last >= 0 {
			gap = min(gap, m-last)
		} else {
			first = m
		}
		last = m
	}
	consecutive := false
	for h := range 24 {
		if hours&(1<<h) != 0 && hours&(1<<((h+1)%24)) != 0 {
			consecutive = true
		}
	}
	if consecutive && last >= 0 {
		gap = min(gap, 60-last+first)
	}
	return gap
}
