using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Audit;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.People;

/// <summary>People (admin): list, add, change role or password, remove. There is always at least one admin.</summary>
public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users").RequireRole(Policies.Admin).ValidateRequests().WithTags("People");
        group.MapGet("/", List);
        group.MapPost("/", Create);
        group.MapPut("/{id}", Update);
        group.MapDelete("/{id}", Delete);
        return group;
    }

    public static async Task<Ok<List<UserDto>>> List(OsirisDbContext db, CancellationToken ct)
    {
        var users = await db.Users.AsNoTracking().OrderBy(u => u.UserName).ToListAsync(ct);
        var external = (await db.UserLogins.Select(l => l.UserId).ToListAsync(ct)).ToHashSet();
        return TypedResults.Ok(users.Select(u => ToDto(u, external.Contains(u.Id))).ToList());
    }

    public static async Task<Results<Created<CreatedUser>, ValidationProblem>> Create(CreateUserRequest request, HttpContext http,
        UserManager<OsirisUser> users, OsirisDbContext db, TimeProvider time)
    {
        var password = request.Password ?? GeneratePassword();
        var user = new OsirisUser { UserName = request.UserName, Role = request.Role, CreatedAt = time.UtcNow() };
        AuditLog.Add(db, time, http, AuditActions.UserCreate, $"user:{request.UserName}", new { request.Role });
        var created = await users.CreateAsync(user, password);
        if (!created.Succeeded)
        {
            return TypedResults.ValidationProblem(Errors(created));
        }
        return TypedResults.Created($"/api/v1/users/{user.Id}", new CreatedUser(ToDto(user, false), request.Password is null ? password : null));
    }

    public static async Task<Results<Ok<UserDto>, ValidationProblem, ProblemHttpResult>> Update(string id, UpdateUserRequest request,
        HttpContext http, UserManager<OsirisUser> users, OsirisDbContext db, TimeProvider time, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await LockAdminsAsync(db, ct);
        var user = await users.FindByIdAsync(id);
        if (user is null)
        {
            return NotFound(id);
        }
        if (request.Role is { } role && role != Roles.Admin && user.Role == Roles.Admin && await IsLastAdminAsync(db, user, ct))
        {
            return LastAdmin(user);
        }
        if (request.Password is { } password)
        {
            // Checked first and stored in the same save as the rest: a refused password leaves the old one in place.
            var problems = new List<IdentityError>();
            foreach (var validator in users.PasswordValidators)
            {
                problems.AddRange((await validator.ValidateAsync(users, user, password)).Errors);
            }
            if (problems.Count > 0)
            {
                return TypedResults.ValidationProblem(Errors(IdentityResult.Failed([.. problems])));
            }
            user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
            user.SecurityStamp = Guid.NewGuid().ToString("N");
            user.LockoutEnd = null;
            user.AccessFailedCount = 0;
        }
        if (request.Role is { } newRole)
        {
            user.Role = newRole;
        }
        AuditLog.Add(db, time, http, AuditActions.UserUpdate, $"user:{user.UserName}", new { request.Role, passwordChanged = request.Password is not null });
        var updated = await users.UpdateAsync(user);
        if (!updated.Succeeded)
        {
            return TypedResults.ValidationProblem(Errors(updated));
        }
        if (request.Password is not null)
        {
            // A new password ends every session and token: whoever knew the old one, and anything they made with it, is out.
            await AccessTokens.RevokeAllAsync(db, user.Id, time.UtcNow(), ct);
        }
        await transaction.CommitAsync(ct);
        return TypedResults.Ok(ToDto(user, await db.UserLogins.AnyAsync(l => l.UserId == user.Id, ct)));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(string id, HttpContext http,
        UserManager<OsirisUser> users, OsirisDbContext db, TimeProvider time, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await LockAdminsAsync(db, ct);
        var user = await users.FindByIdAsync(id);
        if (user is null)
        {
            return NotFound(id);
        }
        if (user.Role == Roles.Admin && await IsLastAdminAsync(db, user, ct))
        {
            return LastAdmin(user);
        }
        AuditLog.Add(db, time, http, AuditActions.UserDelete, $"user:{user.UserName}", new { user.Role });
        // Their tokens go with them (cascade); what they did stays in the audit trail under their name.
        var deleted = await users.DeleteAsync(user);
        if (!deleted.Succeeded)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Could not remove the person",
                detail: string.Join(" ", deleted.Errors.Select(e => e.Description)));
        }
        await transaction.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Two admins demoting or removing each other at once must not leave none: on PostgreSQL the admins' rows are
    /// locked for the transaction; SQLite runs one writing transaction at a time anyway.
    /// </summary>
    private static async Task LockAdminsAsync(OsirisDbContext db, CancellationToken ct)
    {
        if (db is PostgresOsirisDbContext)
        {
            await db.Users.FromSqlRaw("""SELECT * FROM users WHERE "Role" = 'admin' FOR UPDATE""").ToListAsync(ct);
        }
    }

    public static UserDto ToDto(OsirisUser u, bool external) =>
        new(u.Id, u.UserName!, u.Role, u.CreatedAt, external, u.LockoutEnd is { } end && end > DateTimeOffset.UtcNow ? end : null);

    /// <summary>24 random characters from an alphabet without look-alikes: about 137 bits.</summary>
    public static string GeneratePassword()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return string.Create(24, alphabet, (chars, a) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = a[RandomNumberGenerator.GetInt32(a.Length)];
            }
        });
    }

    private static async Task<bool> IsLastAdminAsync(OsirisDbContext db, OsirisUser user, CancellationToken ct) =>
        !await db.Users.AnyAsync(u => u.Role == Roles.Admin && u.Id != user.Id, ct);

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such person", detail: $"There is no person with id {id}.");

    private static ProblemHttpResult LastAdmin(OsirisUser user) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The last admin",
            detail: $"{user.UserName} is the only admin; make someone else admin first.");

    private static Dictionary<string, string[]> Errors(IdentityResult result) =>
        result.Errors.GroupBy(e => e.Code.Contains("Password", StringComparison.Ordinal) ? "password" : "userName")
            .ToDictionary(g => g.Key, g => g.Select(e => e.Description).ToArray());
}
