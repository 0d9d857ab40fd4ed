package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

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
			"Runs with different settings (protocol, levels, duration, timeout, size...) are refused.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if len(args) < 2 {
			return badUsage("merge needs two results files or more")
		}
		var runs []*loadgen.Result
		for _, name := range args {
			b, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			var r loadgen.Result
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("%s: not the JSON of iolab load -json: %w", name, err)
			}
			runs = append(runs, &r)
		}
		merged, err := loadgen.Merge(runs...)
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
		fmt.Fprintf(stdout, "%d runs merged (%s)\n", len(runs), merged.Config.Addr)
		return loadgen.WriteTable(stdout, merged)
	}
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
