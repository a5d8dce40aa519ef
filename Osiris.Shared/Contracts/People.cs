using System.Text.RegularExpressions;

namespace Osiris.Shared.Contracts;

/// <summary>
/// What a person may do. Each role includes the ones before it:
/// <c>viewer</c> reads tasks and the stream; <c>operator</c> also creates, messages, cancels, approves or denies, reviews
/// replies, switches a task's brain and marks senders; <c>admin</c> also sets the global brain and settings (trust
/// included), manages people and tokens and reads the audit trail.
/// </summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public static readonly string[] All = [Viewer, Operator, Admin];

    /// <summary>0 viewer, 1 operator, 2 admin; -1 for anything else.</summary>
    public static int Rank(string? role) => Array.IndexOf(All, role);

    /// <summary>The lesser of two roles (a token never does more than its owner may).</summary>
    public static string Min(string a, string b) => Rank(a) <= Rank(b) ? a : b;

    internal static void Check(string? role, Dictionary<string, string[]> errors)
    {
        if (role is not null && !All.Contains(role))
        {
            errors["role"] = [$"role is one of {string.Join(", ", All)}."];
        }
    }
}

internal static class Passwords
{
    /// <summary>A chosen password: 12 to 256 characters (ASP.NET Core Identity is configured the same way).</summary>
    public static void Check(string? password, Dictionary<string, string[]> errors)
    {
        if (password is { Length: < 12 or > 256 })
        {
            errors["password"] = ["password has 12 to 256 characters."];
        }
    }
}

/// <summary>The audited actions (the <c>action</c> of <c>GET /api/v1/audit</c>).</summary>
public static class AuditActions
{
    public const string ApprovalApprove = "approval.approve";
    public const string ApprovalDeny = "approval.deny";
    public const string ReplySend = "reply.send";
    public const string ReplyDiscard = "reply.discard";
    public const string TaskCancel = "task.cancel";
    public const string TaskBrain = "task.brain";
    public const string TaskResume = "task.resume";
    public const string TaskRestore = "task.restore";
    public const string TaskFork = "task.fork";
    public const string TaskReplay = "task.replay";
    public const string BrainDefault = "brain.default";
    public const string TrustPolicy = "trust.policy.set";
    public const string TrustSender = "trust.sender.set";
    public const string UserCreate = "user.create";
    public const string UserUpdate = "user.update";
    public const string UserDelete = "user.delete";
    public const string TokenCreate = "token.create";
    public const string TokenRevoke = "token.revoke";
    public const string SignIn = "auth.sign-in";
    public const string SignInFailed = "auth.sign-in-failed";
    public const string CollectionCreate = "knowledge.collection.create";
    public const string CollectionDelete = "knowledge.collection.delete";
    public const string DocumentUpload = "knowledge.document.upload";
    public const string DocumentDelete = "knowledge.document.delete";
}

public static partial class UserNames
{
    public const int MaxLength = 64;

    /// <summary>Letters, digits and <c>. _ - @</c>; what ASP.NET Core Identity's default allows, and safe in a log line.</summary>
    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && Pattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9._@-]+$")]
    private static partial Regex Pattern();
}

/// <summary><c>POST /api/v1/auth/sign-in</c>.</summary>
public sealed record SignInRequest(string UserName, string Password) : IValidatable
{
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrEmpty(UserName) || UserName.Length > UserNames.MaxLength)
        {
            errors["userName"] = [$"userName has 1 to {UserNames.MaxLength} characters."];
        }
        if (string.IsNullOrEmpty(Password) || Password.Length > 256)
        {
            errors["password"] = ["password has 1 to 256 characters."];
        }
        return errors;
    }
}

/// <summary><c>POST /api/v1/auth/oidc</c>: the ID token the single sign-on provider gave the web app.</summary>
public sealed record OidcSignInRequest(string IdToken) : IValidatable
{
    public Dictionary<string, string[]> Validate() =>
        IdToken is { Length: > 0 and <= 16_384 } ? [] : new() { ["idToken"] = ["idToken is a JWT of at most 16384 characters."] };
}

/// <summary>A signed-in session: the short-lived bearer token and who it is for.</summary>
public sealed record SessionDto(string Token, DateTimeOffset ExpiresAt, string UserName, string Role);

/// <summary><c>GET /api/v1/me</c>: who the credential belongs to.</summary>
public sealed record MeDto(string Name, string Role, string Kind);

public sealed record UserDto(string Id, string UserName, string Role, DateTimeOffset CreatedAt, bool External, DateTimeOffset? LockedOutUntil);

/// <summary><c>POST /api/v1/users</c>: without a password, one is generated and shown once in the answer.</summary>
public sealed record CreateUserRequest(string UserName, string Role, string? Password) : IValidatable
{
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (!UserNames.IsValid(UserName))
        {
            errors["userName"] = [$"userName has 1 to {UserNames.MaxLength} letters, digits or . _ - @."];
        }
        Roles.Check(Role ?? "", errors);
        Passwords.Check(Password, errors);
        return errors;
    }
}

public sealed record CreatedUser(UserDto User, string? Password);

/// <summary><c>PUT /api/v1/users/{id}</c>: a new role and/or a new password (which ends the person's sessions).</summary>
public sealed record UpdateUserRequest(string? Role, string? Password) : IValidatable
{
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Role is null && Password is null)
        {
            errors["role"] = ["Send a role, a password, or both."];
        }
        Roles.Check(Role, errors);
        Passwords.Check(Password, errors);
        return errors;
    }
}

/// <summary><c>POST /api/v1/tokens</c>.</summary>
public sealed record CreateTokenRequest(string Name, string Role, int ExpiresInDays) : IValidatable
{
    public const int MaxDays = 366;

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 100)
        {
            errors["name"] = ["name has 1 to 100 characters."];
        }
        Roles.Check(Role ?? "", errors);
        if (ExpiresInDays is < 1 or > MaxDays)
        {
            errors["expiresInDays"] = [$"expiresInDays is 1 to {MaxDays}."];
        }
        return errors;
    }
}

public sealed record TokenDto(Guid Id, string Name, string Role, string Owner, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt,
    DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>The answer to <c>POST /api/v1/tokens</c>: <paramref name="Token"/> is shown this once and never again.</summary>
public sealed record CreatedToken(Guid Id, string Name, string Role, DateTimeOffset ExpiresAt, string Token);

public sealed record AuditEntryDto(long Id, DateTimeOffset At, string Actor, string? Address, string Action, string? Target, string? Details);

public sealed record AuditPage(IReadOnlyList<AuditEntryDto> Items, long? Before);

/// <summary><c>POST /api/v1/stream/tickets</c>: valid once, for 60 seconds, as <c>GET /api/v1/stream?ticket=…</c>.</summary>
public sealed record StreamTicket(string Ticket, DateTimeOffset ExpiresAt);
