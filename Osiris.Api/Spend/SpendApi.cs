using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Spend;

/// <summary><c>GET /api/v1/spend</c>: what model calls cost, per day and channel, from the recorded calls.</summary>
public static class SpendApi
{
    public static RouteGroupBuilder MapSpendApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/spend").RequireRole(Policies.Viewer).ValidateRequests().WithTags("Spend");
        group.MapGet("/", GetSpend);
        return group;
    }

    /// <summary>The query of <c>GET /api/v1/spend</c>: how many days back, today included (1 to 90, default 14).</summary>
    public sealed record SpendQuery([FromQuery(Name = "days")] int? Days) : IValidatable
    {
        public Dictionary<string, string[]> Validate() => Days is < 1 or > 90 ? new() { ["days"] = ["days is 1 to 90."] } : [];
    }

    public static async Task<Ok<SpendReport>> GetSpend([AsParameters] SpendQuery query, OsirisDbContext db, TimeProvider time, CancellationToken ct)
    {
        var since = new DateTimeOffset(time.GetUtcNow().UtcDateTime.Date.AddDays(1 - (query.Days ?? 14)), TimeSpan.Zero);
        // A bounded window of small rows: grouped here, the same way on PostgreSQL and SQLite.
        var calls = await db.ModelCalls.AsNoTracking().Where(c => c.CreatedAt >= since)
            .Select(c => new { c.TaskId, c.Source, c.CreatedAt, c.CostUsd, Tokens = c.InputTokens + c.OutputTokens }).ToListAsync(ct);
        var perDay = calls
            .GroupBy(c => (Day: DateOnly.FromDateTime(c.CreatedAt.UtcDateTime), c.Source))
            .OrderBy(g => g.Key.Day).ThenBy(g => g.Key.Source)
            .Select(g => new SpendEntry(g.Key.Day, g.Key.Source, g.Sum(c => c.CostUsd ?? 0), g.Sum(c => c.Tokens),
                g.Where(c => c.CostUsd is null).Sum(c => c.Tokens), g.Count()))
            .ToList();
        var top = calls.GroupBy(c => c.TaskId)
            .Select(g => (Id: g.Key, Cost: g.Sum(c => c.CostUsd ?? 0), Tokens: g.Sum(c => c.Tokens), Unpriced: g.Where(c => c.CostUsd is null).Sum(c => c.Tokens)))
            .OrderByDescending(t => t.Cost).ThenByDescending(t => t.Tokens).Take(10).ToList();
        var ids = top.Select(t => t.Id).ToList();
        var titles = await db.Tasks.AsNoTracking().Where(t => ids.Contains(t.Id)).Select(t => new { t.Id, t.Title, t.Source }).ToDictionaryAsync(t => t.Id, ct);
        var topTasks = top.Where(t => titles.ContainsKey(t.Id))
            .Select(t => new TaskSpend(t.Id, titles[t.Id].Title, titles[t.Id].Source, t.Cost, t.Tokens, t.Unpriced)).ToList();
        return TypedResults.Ok(new SpendReport(perDay, topTasks, perDay.Sum(d => d.CostUsd)));
    }
}
