using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Security;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Audit;

/// <summary><c>GET /api/v1/audit</c> (admin): newest first, a page at a time, filtered by action, target or actor.</summary>
public static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/audit").RequireRole(Policies.Admin).WithTags("People");
        group.MapGet("/", List);
        return group;
    }

    /// <param name="before">Entries older than this id (the previous page's <c>before</c>).</param>
    public static async Task<Results<Ok<AuditPage>, ValidationProblem>> List(OsirisDbContext db, long? before, int? limit, string? action,
        string? target, string? actor, CancellationToken ct)
    {
        var take = limit ?? 100;
        if (take is < 1 or > 500)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = ["limit is 1 to 500."] });
        }
        var query = db.Audit.AsNoTracking().AsQueryable();
        if (before is { } b)
        {
            query = query.Where(a => a.Id < b);
        }
        if (!string.IsNullOrEmpty(action))
        {
            query = query.Where(a => a.Action == action);
        }
        if (!string.IsNullOrEmpty(target))
        {
            query = query.Where(a => a.Target == target);
        }
        if (!string.IsNullOrEmpty(actor))
        {
            query = query.Where(a => a.Actor == actor);
        }
        var items = await query.OrderByDescending(a => a.Id).Take(take)
            .Select(a => new AuditEntryDto(a.Id, a.At, a.Actor, a.Address, a.Action, a.Target, a.Details))
            .ToListAsync(ct);
        return TypedResults.Ok(new AuditPage(items, items.Count == take ? items[^1].Id : null));
    }
}
