# SPDX-License-Identifier: MIT
# make sim-plot: true error and bound through a live migration (trace of
# tests/sim/plot/migration.sim).  Columns: see trace_probe() in sim.c.
# Called with -e "dat='...'; out='docs/sim-migration'".
t0 = 3600.0
set datafile commentschars "#"
set grid
set termoption noenhanced
set key bottom right box opaque horizontal
set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lc rgb "gray40"
set xrange [-300:1500]

do for [fmt in "svg pngcairo"] {
	if (fmt eq "svg") {
		set terminal svg size 1000,760 dynamic font "sans,13"
		set termoption noenhanced
		set output out.".svg"
	} else {
		set terminal pngcairo size 1000,760 font "sans,11"
		set termoption noenhanced
		set output out.".png"
	}
	set multiplot layout 2,1 title "Live migration at t = 0 to a host 50 ppm away (200 ms pause, 2 ms counter error)"
	set title "Precise mode: libvmclock reader on the VMClock page"
	set ylabel "error vs true UTC (µs)"
	set xlabel ""
	set yrange [-9:7]
	plot dat u ($1-t0):($2==0 ? $4/1e3 : NaN) every 3 w l lc rgb "#9ab8e6" t "earliest − true", \
	     dat u ($1-t0):($2==0 ? $5/1e3 : NaN) every 3 w l lc rgb "#e69a9a" t "latest − true", \
	     dat u ($1-t0):($2==0 ? $3/1e3 : NaN) every 6 w p pt 7 ps 0.2 lc rgb "black" t "reading − true"
	set title "Basic mode: guest clock steered by an NTP-like PI servo (polls every 16–64 s, ±50 µs jitter)"
	set ylabel "error vs true UTC (ms)"
	set xlabel "time since the migration (s)"
	set yrange [*:*]
	set key top right
	plot dat u ($1-t0):($6/1e6) every 3 w l lw 2 lc rgb "#b03030" t "servo clock − true", \
	     0 w l lc rgb "gray" notitle
	unset multiplot
	unset output
}
