using Osiris.Benchmarks;

// Usage: dotnet run -c Release --project Osiris.Benchmarks -- <delivery|webhook|mcp|e2e|replay|auth|knowledge|checkpoints|soak|web-store> [--mode local|embedded] [--clients N] [--rate R] [--seconds S]
//   delivery: N SSE clients, R events/s for S seconds; webhook: R×S signed posts from N concurrent callers;
//   replay: N concurrent full replays of a long log (--events);
//   auth: what credentials cost a request (api-key, session, personal token, sign-in, stream tickets; --requests);
//   e2e: the whole app with K pages, C agent tasks and R webhooks/s (see E2eBenchmark);
//   knowledge: recall@5/MRR of eval/knowledge, indexing throughput, query latency (--chunks, --vectors, --pages);
//   checkpoints: workspace checkpoints of --files files (5,000): first, unchanged, 10 changed, diff, restore, fork (--runs);
//   soak: 2 API + 2 agent replicas, 1,000 SSE clients, 5 webhooks/s from 50 senders, agents at concurrency 5, for --minutes (10);
//         --ramp: the highest publish rate with delivery p99 ≤ 50 ms, with 1 and 2 API replicas;
//   web-store: the dashboard store's memory after --tasks (50,000) tasks and --views (300) opened task views, unbounded and bounded;
//   mcp: R×S read_file and list_dir calls against OSIRIS (stdio, HTTP) and the reference filesystem server (stdio).
var options = BenchmarkOptions.Parse(args);
return options.Scenario switch
{
    "delivery" => await DeliveryBenchmark.RunAsync(options),
    "webhook" => await WebhookBenchmark.RunAsync(options),
    "mcp" => await McpBenchmark.RunAsync(options),
    "e2e" => await E2eBenchmark.RunAsync(options),
    "replay" => await ReplayBenchmark.RunAsync(options),
    "auth" => await AuthBenchmark.RunAsync(options),
    "knowledge" => await KnowledgeBenchmark.RunAsync(options),
    "checkpoints" => await CheckpointBenchmark.RunAsync(options),
    "soak" => await SoakBenchmark.RunAsync(options),
    "web-store" => await WebStoreBenchmark.RunAsync(options),
    _ => BenchmarkOptions.Usage($"Unknown scenario '{options.Scenario}'."),
};
