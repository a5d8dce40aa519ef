using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Osiris.Benchmarks;

/// <summary>
/// Webhook acknowledgement latency (docs/events.md: request received → response sent, measured here from the client,
/// so it includes loopback): signed WhatsApp notifications, each a new sender, posted by several concurrent callers.
/// </summary>
public static class WebhookBenchmark
{
    private const string Secret = "benchmark-app-secret";

    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var total = (int)(options.Rate * options.Seconds);
        var callers = Math.Max(1, options.Clients);
        Console.WriteLine($"OSIRIS webhook benchmark: mode {options.Mode}, {total} signed WhatsApp posts from {callers} concurrent callers");

        var dataDir = Directory.CreateTempSubdirectory("osiris-bench-").FullName;
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            [$"--Osiris:Infrastructure={options.Mode}", $"--Osiris:DataDir={dataDir}", $"--Parameters:whatsapp-app-secret={Secret}"]);
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        var agent = builder.Resources.OfType<Aspire.Hosting.ApplicationModel.ProjectResource>().Single(r => r.Name == "agent");
        builder.CreateResourceBuilder(agent).WithEnvironment("Agent__Enabled", "false"); // measure intake, not the agent
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api");

        using var http = new HttpClient { BaseAddress = new Uri(await DeliveryBenchmark.DirectApiUrlAsync(app)) };
        for (var i = 0; i < 20; i++)
        {
            await PostAsync(http, $"warmup{i}");
        }

        var latencies = new double[total];
        var next = -1;
        var failures = 0;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                var (ok, ms) = await PostAsync(http, $"run{i}");
                latencies[i] = ms;
                if (!ok)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })));
        Array.Sort(latencies);
        double Pct(double q) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        Console.WriteLine();
        Console.WriteLine("| mode | posts | callers | p50 ms | p99 ms | max ms | failed | posts/s |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {options.Mode} | {total} | {callers} | {Pct(0.5):F2} | {Pct(0.99):F2} | {latencies[^1]:F2} | {failures} | {total / wall.Elapsed.TotalSeconds:F0} |"));
        await app.StopAsync();
        return failures == 0 ? 0 : 1;
    }

    private static async Task<(bool Ok, double Ms)> PostAsync(HttpClient http, string id)
    {
        var body = Encoding.UTF8.GetBytes($$$"""
            {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"1"},"contacts":[{"profile":{"name":"Bench {{{id}}}"},"wa_id":"bench{{{id}}}"}],"messages":[{"from":"bench{{{id}}}","id":"wamid.bench.{{{id}}}","timestamp":"1730000000","type":"text","text":{"body":"benchmark message {{{id}}}"}}]}}]}]}
            """);
        return await PostSignedAsync(http, Secret, body);
    }

    /// <summary>Posts a WhatsApp notification signed as Meta signs it; returns whether it was accepted and how long it took.</summary>
    public static async Task<(bool Ok, double Ms)> PostSignedAsync(HttpClient http, string secret, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/whatsapp") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)).ToLowerInvariant());
        var stopwatch = Stopwatch.StartNew();
        using var response = await http.SendAsync(request);
        return (response.IsSuccessStatusCode, stopwatch.Elapsed.TotalMilliseconds);
    }
}
