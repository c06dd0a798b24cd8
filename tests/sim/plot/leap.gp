# SPDX-License-Identifier: MIT
# make sim-plot: a positive leap second (trace of tests/sim/plot/leap.sim):
# the true error and bound of UTC across 23:59:60, and the clocks the
# page's smearing hint names.  Columns: see trace_probe() in sim.c.
# Called with -e "dat='...'; out='docs/sim-leap'".
set grid
set termoption noenhanced
set key bottom left box opaque
set style rect fc rgb "#f0e0a0" fs solid 0.6 noborder

do for [fmt in "svg pngcairo"] {
	if (fmt eq "svg") {
		set terminal svg size 1000,1000 dynamic font "sans,13"
		set termoption noenhanced
		set output out.".svg"
	} else {
		set terminal pngcairo size 1000,1000 font "sans,11"
		set termoption noenhanced
		set output out.".png"
	}
	set multiplot layout 3,1 title "Leap second inserted at 2026-12-31 23:59:60 UTC (TAI page, TAI − UTC 37 → 38 s)"
	set title "UTC bound around the leap: reading and [earliest, latest] against true UTC"
	set xlabel "time since 23:59:60 began (s)"
	set ylabel "error (µs)"
	set xrange [-120:120]
	set object 1 rect from 0, graph 0 to 1, graph 1 behind
	set label 1 "23:59:60" at 1.5, graph 0.93
	set yrange [-35:30]
	set key bottom left horizontal
	plot dat u 7:($2==0 ? $4/1e3 : NaN) w l lc rgb "#9ab8e6" t "earliest − true", \
	     dat u 7:($2==0 ? $5/1e3 : NaN) w l lc rgb "#e69a9a" t "latest − true", \
	     dat u 7:($2==0 ? $3/1e3 : NaN) every 2 w p pt 7 ps 0.3 lc rgb "black" t "reading − true"
	unset object 1
	unset label 1
	set title "Clocks less (TAI − 37 s) over the NOON_LINEAR window, noon to noon"
	set xlabel "time since 23:59:60 began (h)"
	set ylabel "offset (ms)"
	set xrange [-14:14]
	set key bottom left vertical
	set yrange [-1100:100]
	plot dat u ($7/3600):($2==0 ? $8/1e6 : NaN) every 20 w l lw 2 lc rgb "black" t "UTC", \
	     dat u ($7/3600):($2==0 ? $9/1e6 : NaN) every 20 w l lw 2 lc rgb "#2a7f2a" t "NOON_LINEAR smear", \
	     dat u ($7/3600):($2==0 ? $10/1e6 : NaN) every 20 w l lw 2 lc rgb "#c06000" t "UTC_SLS smear"
	set title "The last 1,000 s: UTC_SLS"
	set xlabel "time since 23:59:60 began (s)"
	set xrange [-1100:100]
	plot dat u 7:($2==0 ? $8/1e6 : NaN) w l lw 2 lc rgb "black" t "UTC", \
	     dat u 7:($2==0 ? $9/1e6 : NaN) w l lw 2 lc rgb "#2a7f2a" t "NOON_LINEAR smear", \
	     dat u 7:($2==0 ? $10/1e6 : NaN) w l lw 2 lc rgb "#c06000" t "UTC_SLS smear"
	unset multiplot
	unset output
}
