using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Osiris.Shared.Contracts;

namespace Osiris.Benchmarks;

/// <summary>
/// What people and credentials cost a request: the same small reads with the api-key (a constant-time compare), a
/// sign-in session and a personal access token (a SHA-256 and one indexed lookup each), a password sign-in (Identity's
/// PBKDF2 hash, deliberately slow), and opening the stream with a header versus with a single-use ticket. The first
/// row of each is cold (right after every service reports healthy); the percentiles follow a warm-up. Defaults: 2,000
/// requests per credential from 8 concurrent callers (<c>--requests</c>, <c>--clients</c>).
/// </summary>
public static class AuthBenchmark
{
    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var requests = (int)options.Number("requests", 2000);
        var clients = options.Clients == 100 ? 8 : options.Clients; // the shared default (100) suits the delivery scenario
        Console.WriteLine($"OSIRIS auth benchmark: mode {options.Mode}, {requests} requests per credential from {clients} concurrent callers");
        var dataDir = Directory.CreateTempSubdirectory("osiris-bench-").FullName;
        var apiKey = Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            [$"--Osiris:Infrastructure={options.Mode}", $"--Osiris:DataDir={dataDir}", $"--Parameters:api-key={apiKey}",
             $"--Parameters:admin-password={Guid.NewGuid():N}"]);
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        var agent = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "agent");
        builder.CreateResourceBuilder(agent).WithEnvironment("Agent__Enabled", "false");
        var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");
        builder.CreateResourceBuilder(api).WithEnvironment("Osiris__Auth__SignInPerMinute", "10000")
            .WithEnvironment("Osiris__Stream__MaxStreamsPerKey", "100000"); // closed streams release their permit a moment later
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api");

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = new Uri(await DeliveryBenchmark.DirectApiUrlAsync(app)),
            Timeout = TimeSpan.FromSeconds(60),
        };
        var rows = new List<string>();
        void Row(string name, IReadOnlyList<double> ms) => rows.Add(ms.Count == 1
            ? string.Create(CultureInfo.InvariantCulture, $"| {name} | {ms[0]:F1} | | | |")
            : string.Create(CultureInfo.InvariantCulture, $"| {name} | {P(ms, 0.50):F2} | {P(ms, 0.95):F2} | {P(ms, 0.99):F2} | {ms.Max():F1} |"));

        // Cold: the first request of each kind after start.
        var password = "benchmark-password-0123";
        var name = "bench-admin";
        await SendAsync(http, HttpMethod.Post, "/api/v1/users", apiKey, new CreateUserRequest(name, Roles.Admin, password));
        var (firstSignIn, session) = await TimeAsync(() => SignInAsync(http, name, password));
        Row("cold | first sign-in after healthy (password)", [firstSignIn]);
        var (firstSession, _) = await TimeAsync(() => SendAsync(http, HttpMethod.Get, "/api/v1/me", session.Token));
        Row("cold | first request with a session", [firstSession]);
        using var created = await SendAsync(http, HttpMethod.Post, "/api/v1/tokens", session.Token, new CreateTokenRequest("bench", Roles.Viewer, 1));
        var pat = (await created.Content.ReadFromJsonAsync<CreatedToken>(OsirisJson.Options))!.Token;
        var (firstPat, _) = await TimeAsync(() => SendAsync(http, HttpMethod.Get, "/api/v1/me", pat));
        Row("cold | first request with a personal token", [firstPat]);
        var (firstTicket, _) = await TimeAsync(() => OpenStreamWithTicketAsync(http, pat));
        Row("cold | first stream opened with a ticket (POST ticket + GET stream)", [firstTicket]);

        // Warm.
        await MeasureAsync(http, 200, clients, () => SendAsync(http, HttpMethod.Get, "/api/v1/me", apiKey));
        Row("GET /api/v1/me, api-key", await MeasureAsync(http, requests, clients, () => SendAsync(http, HttpMethod.Get, "/api/v1/me", apiKey)));
        Row("GET /api/v1/me, session", await MeasureAsync(http, requests, clients, () => SendAsync(http, HttpMethod.Get, "/api/v1/me", session.Token)));
        Row("GET /api/v1/me, personal token", await MeasureAsync(http, requests, clients, () => SendAsync(http, HttpMethod.Get, "/api/v1/me", pat)));
        Row("GET /api/v1/tasks?pageSize=20, api-key", await MeasureAsync(http, requests, clients, () => SendAsync(http, HttpMethod.Get, "/api/v1/tasks?pageSize=20", apiKey)));
        Row("GET /api/v1/tasks?pageSize=20, session", await MeasureAsync(http, requests, clients, () => SendAsync(http, HttpMethod.Get, "/api/v1/tasks?pageSize=20", session.Token)));
        Row("sign-in (password: PBKDF2)", await MeasureAsync<object?>(http, Math.Max(10, requests / 50), 1, async () => { await SignInAsync(http, name, password); return null; }));
        Row("stream open, header", await MeasureAsync<object?>(http, Math.Max(10, requests / 10), clients, async () => { await OpenStreamAsync(http, "/api/v1/stream", pat); return null; }));
        Row("stream open, ticket (POST ticket + GET stream)", await MeasureAsync<object?>(http, Math.Max(10, requests / 10), clients, async () => { await OpenStreamWithTicketAsync(http, pat); return null; }));

        Console.WriteLine();
        Console.WriteLine("| what | p50 ms (or the one cold figure) | p95 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        await app.StopAsync();
        return 0;
    }

    private static double P(IReadOnlyList<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static async Task<(double Ms, T Result)> TimeAsync<T>(Func<Task<T>> action)
    {
        var clock = Stopwatch.StartNew();
        var result = await action();
        return (clock.Elapsed.TotalMilliseconds, result);
    }

    /// <summary>Each call's duration in ms, sorted; <paramref name="clients"/> callers share <paramref name="count"/> calls.</summary>
    private static async Task<List<double>> MeasureAsync<T>(HttpClient http, int count, int clients, Func<Task<T>> call)
    {
        var durations = new System.Collections.Concurrent.ConcurrentBag<double>();
        var left = count;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (Interlocked.Decrement(ref left) >= 0)
            {
                var clock = Stopwatch.StartNew();
                var result = await call();
                durations.Add(clock.Elapsed.TotalMilliseconds);
                (result as IDisposable)?.Dispose();
            }
        }));
        return [.. durations.Order()];
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: OsirisJson.Options);
        }
        var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return response;
    }

    private static async Task<SessionDto> SignInAsync(HttpClient http, string name, string password)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/auth/sign-in", new SignInRequest(name, password), OsirisJson.Options);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<SessionDto>(OsirisJson.Options))!;
    }

    private static async Task<bool> OpenStreamWithTicketAsync(HttpClient http, string token)
    {
        using var answer = await SendAsync(http, HttpMethod.Post, "/api/v1/stream/tickets", token);
        var ticket = (await answer.Content.ReadFromJsonAsync<StreamTicket>(OsirisJson.Options))!;
        await OpenStreamAsync(http, $"/api/v1/stream?ticket={ticket.Ticket}", null);
        return true;
    }

    /// <summary>Until the stream's headers arrive (the API has authenticated and subscribed), then closes it.</summary>
    private static async Task OpenStreamAsync(HttpClient http, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
    }
}
