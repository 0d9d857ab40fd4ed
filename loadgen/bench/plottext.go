package bench

import (
	"fmt"
	"strings"
)

// plotText is every word a plot shows, in one language: the lab notes
// come in English and Portuguese, and so does each figure. A word added
// to a plot is added here, to both tables.
type plotText struct {
	// suffix goes before a file's extension: NAME.png, NAME.pt.png.
	suffix string
	// titles and yLabels are by plot key (plotSpec.key).
	titles, yLabels map[string]string
	// heading is the first line of every title: scenario, protocol and
	// work, as "%s (%s, work %s)"; heavyWork the work of a mixed load,
	// as "%s on %s%% of lines" (workOn).
	heading, heavyWork string
	logScale           string // added inside a title's last parenthesis
	clients            string // the x axis of the plots over the levels
	// connect plot: its title's two lines, after the heading, and axes.
	connectLevel, connectTitle, connectX, connectY string
	// The marks on the points, in the legend and in the caption line.
	boundMark, failedMark       string
	boundCaption, failedCaption string
	failedLatency               string // added to failedCaption on a latency plot
	ceiling                     string // "ceiling: clients × %s req/s"
	// thousands and decimal are the separators of a tick's number.
	thousands, decimal string
}

// english and portuguese are the two languages of every figure.
var english = plotText{
	suffix: "",
	titles: map[string]string{
		"throughput": "requests per second (higher is better)",
		"p99":        "p99 latency (lower is better; log scale)",
		"procs":      "server processes, peak",
		"threads":    "server OS threads, peak",
		"rss":        "server resident memory, peak",
		"switches":   "server context switches per request",
		"efficiency": "requests per server CPU-second (higher is better)",
		"cheap-p99":  "cheap requests' p99 latency (lower is better; log scale)",
	},
	yLabels: map[string]string{
		"throughput": "requests / s",
		"p99":        "p99 latency, ms",
		"procs":      "processes",
		"threads":    "threads",
		"rss":        "RSS, MiB",
		"switches":   "context switches / request",
		"efficiency": "requests / CPU-second",
		"cheap-p99":  "cheap requests' p99 latency, ms",
	},
	heading:       "%s (%s, work %s)",
	heavyWork:     heavyWorkText,
	logScale:      "log scale",
	clients:       "simultaneous clients (log scale)",
	connectLevel:  "%s, %d clients",
	connectTitle:  "connect time: share of connects still waiting after x",
	connectX:      "connect(2) time, ms (log scale)",
	connectY:      "% still waiting (log scale)",
	boundMark:     "client-bound level",
	failedMark:    "failed requests",
	boundCaption:  "Hollow marker: a client-bound level (the load generator used nearly all its CPU): the server may be faster, and these points do not rank.",
	failedCaption: "Red cross: requests failed at this level (timeouts, resets, wrong replies)",
	failedLatency: "; no latency includes them",
	ceiling:       "ceiling: clients × %s req/s",
	thousands:     ",",
	decimal:       ".",
}

var portuguese = plotText{
	suffix: ".pt",
	titles: map[string]string{
		"throughput": "requisições por segundo (maior é melhor)",
		"p99":        "latência p99 (menor é melhor; escala log)",
		"procs":      "processos do servidor, pico",
		"threads":    "threads do SO no servidor, pico",
		"rss":        "memória residente do servidor, pico",
		"switches":   "trocas de contexto do servidor por requisição",
		"efficiency": "requisições por segundo de CPU do servidor (maior é melhor)",
		"cheap-p99":  "latência p99 das requisições baratas (menor é melhor; escala log)",
	},
	yLabels: map[string]string{
		"throughput": "requisições / s",
		"p99":        "latência p99, ms",
		"procs":      "processos",
		"threads":    "threads",
		"rss":        "RSS, MiB",
		"switches":   "trocas de contexto / requisição",
		"efficiency": "requisições / segundo de CPU",
		"cheap-p99":  "latência p99 das baratas, ms",
	},
	heading:       "%s (%s, trabalho %s)",
	heavyWork:     "%s em %s%% das linhas",
	logScale:      "escala log",
	clients:       "clientes simultâneos (escala log)",
	connectLevel:  "%s, %d clientes",
	connectTitle:  "tempo de connect: fração dos connect ainda esperando depois de x",
	connectX:      "tempo do connect(2), ms (escala log)",
	connectY:      "% ainda esperando (escala log)",
	boundMark:     "nível limitado pelo cliente",
	failedMark:    "requisições falharam",
	boundCaption:  "Marcador vazado: nível limitado pelo cliente (o gerador de carga usou quase toda a sua CPU): o servidor pode ser mais rápido, e esses pontos não ordenam os modelos.",
	failedCaption: "Cruz vermelha: requisições falharam neste nível (timeouts, resets, respostas erradas)",
	failedLatency: "; nenhuma latência as inclui",
	ceiling:       "teto: clientes × %s req/s",
	thousands:     ".",
	decimal:       ",",
}

// plotLangs are the languages every figure is drawn in, English first:
// the report shows the English one.
var plotLangs = []*plotText{&english, &portuguese}

// headingOf is the first line of a plot's title for s: its name,
// protocol and work.
func (t *plotText) headingOf(s *ScenarioResult) string {
	return fmt.Sprintf(t.heading, s.Name, s.Proto, workOn(t.heavyWork, s.Work, s.Heavy))
}

// number writes a number formatted the English way (1,234.5) with this
// language's separators (1.234,5 in Portuguese).
func (t *plotText) number(s string) string {
	return strings.NewReplacer(",", t.thousands, ".", t.decimal).Replace(s)
}
