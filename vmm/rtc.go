package vmm

import "time"

// rtc is a minimal MC146818 CMOS clock at ports 0x70 (index) and 0x71
// (data): enough for kernels that read the time of day at boot (gnumach's
// readtodc waits for register A's update-in-progress bit to clear). The
// time is the host's, in BCD, 24-hour mode; other registers read 0.
type rtc struct {
	index uint8
	now   func() time.Time
}

func bcd(v int) uint8 { return uint8(v/10<<4 | v%10) }

func (r *rtc) read() uint8 {
	t := time.Now().UTC()
	if r.now != nil {
		t = r.now()
	}
	switch r.index & 0x7f {
	case 0x00:
		return bcd(t.Second())
	case 0x02:
		return bcd(t.Minute())
	case 0x04:
		return bcd(t.Hour())
	case 0x06:
		return bcd(int(t.Weekday()) + 1)
	case 0x07:
		return bcd(t.Day())
	case 0x08:
		return bcd(int(t.Month()))
	case 0x09:
		return bcd(t.Year() % 100)
	case 0x32:
		return bcd(t.Year() / 100)
	case 0x0a:
		return 0x26 // 32.768 kHz base, 1024 Hz rate, UIP clear
	case 0x0b:
		return 0x02 // 24-hour, BCD
	case 0x0d:
		return 0x80 // valid RAM and time
	}
	return 0
}
