package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"iolab/loadgen"
)

func mergeCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	var jsonOut, csvOut string
	fs.StringVar(&jsonOut, "json", "", "also write the merged results as JSON to this file (- for stdout, instead of the table)")
	fs.StringVar(&csvOut, "csv", "", "also write one CSV row per merged level to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab merge [flags] RUN.json RUN.json...\n\n"+
			"Merges the results of iolab load -json runs that drove one server at the same time\n"+
			"(several processes, or several machines) into one table: clients, requests and errors\n"+
			"add up, and latency histograms are added bucket by bucket, so every percentile is exact.\n"+
			"Each run's throughput is its requests over its own interval, and the merged one their sum.\n"+
			"Runs with different settings (protocol, levels, warm-up, timeout, size...) are refused;\n"+
			"runs that stopped differently (-duration, -requests) merge. The same run given twice (the\n"+
			"same run_id) is refused; runs of different targets (-addr) merge, with a warning.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 merged; 1 a file cannot be read, is not a run, or cannot merge; 2 usage error.")
		examples(fs.Output(),
			"iolab merge a.json b.json",
			"iolab merge -json all.json -csv all.csv results/swarm/*/load.json")
	}
	return fs, func(args []string, stdout, stderr io.Writer) error {
		if len(args) < 2 {
			return badUsage("merge needs two results files or more")
		}
		var runs []*loadgen.Result
		byID := map[string]string{} // run id to the file that holds it
		for _, name := range args {
			b, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			var r loadgen.Result
			if err := json.Unmarshal(b, &r); err != nil || len(r.Levels) == 0 {
				if err == nil {
					err = errors.New("no levels")
				}
				return fmt.Errorf("%s is not the JSON of iolab load -json (%v)", name, err)
			}
			if r.RunID == "" {
				fmt.Fprintf(stderr, "iolab merge: warning: %s has no run_id (written by an older iolab): a run given twice cannot be detected\n", name)
			} else if first, ok := byID[r.RunID]; ok {
				return fmt.Errorf("%s and %s are the same run (run_id %s): merge each run once", first, name, r.RunID)
			} else {
				byID[r.RunID] = name
			}
			runs = append(runs, &r)
		}
		if targets := targetsOf(args, runs); targets != "" {
			fmt.Fprintf(stderr, "iolab merge: warning: the runs measured different targets (%s): the merged table adds them up as if they were one server\n", targets)
		}
		merged, err := loadgen.Merge(runs...)
		var mismatch *loadgen.MismatchError
		if errors.As(err, &mismatch) {
			return fmt.Errorf("%s does not match %s: %v; merge runs that measured the same thing", args[mismatch.Run-1], args[0], mismatch.Err)
		}
		if err != nil {
			return err
		}
		if csvOut != "" {
			if err := writeFile(csvOut, func(w io.Writer) error { return loadgen.WriteCSV(w, merged) }); err != nil {
				return err
			}
		}
		switch jsonOut {
		case "-":
			return loadgen.WriteJSON(stdout, merged)
		case "":
		default:
			if err := writeFile(jsonOut, func(w io.Writer) error { return loadgen.WriteJSON(w, merged) }); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "%s runs merged (%s)\n", loadgen.Count(int64(len(runs))), merged.Config.Addr)
		return loadgen.WriteTable(stdout, merged)
	}
}

// targetsOf returns "a.json 127.0.0.1:8000, b.json 10.0.0.2:8000" if the
// runs measured more than one address, or "".
func targetsOf(names []string, runs []*loadgen.Result) string {
	var parts []string
	differ := false
	for i, r := range runs {
		parts = append(parts, names[i]+" "+r.Config.Addr)
		differ = differ || r.Config.Addr != runs[0].Config.Addr
	}
	if !differ {
		return ""
	}
	return strings.Join(parts, ", ")
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
