using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Osiris.Shared.Storage;

/// <summary>
/// The OSIRIS model. Two provider-specific subclasses carry one migration set each
/// (<see cref="PostgresOsirisDbContext"/>, <see cref="SqliteOsirisDbContext"/>); code uses this base type.
/// People are ASP.NET Core Identity users (without Identity's role tables: one role per person, on the user).
/// </summary>
public abstract class OsirisDbContext(DbContextOptions options) : IdentityUserContext<OsirisUser>(options)
{
    public DbSet<AccessTokenRecord> AccessTokens => Set<AccessTokenRecord>();
    public DbSet<StreamTicketRecord> StreamTickets => Set<StreamTicketRecord>();
    public DbSet<TaskRecord> Tasks => Set<TaskRecord>();
    public DbSet<MessageRecord> Messages => Set<MessageRecord>();
    public DbSet<ArtifactRecord> Artifacts => Set<ArtifactRecord>();
    public DbSet<EventRecord> Events => Set<EventRecord>();
    public DbSet<ChannelMessageRecord> ChannelMessages => Set<ChannelMessageRecord>();
    public DbSet<DeliveryRecord> Deliveries => Set<DeliveryRecord>();
    public DbSet<ApprovalRecord> Approvals => Set<ApprovalRecord>();
    public DbSet<SettingRecord> Settings => Set<SettingRecord>();
    public DbSet<ModelCallRecord> ModelCalls => Set<ModelCallRecord>();
    public DbSet<AuditRecord> Audit => Set<AuditRecord>();
    public DbSet<KnowledgeCollectionRecord> KnowledgeCollections => Set<KnowledgeCollectionRecord>();
    public DbSet<KnowledgeDocumentRecord> KnowledgeDocuments => Set<KnowledgeDocumentRecord>();
    public DbSet<KnowledgeChunkRecord> KnowledgeChunks => Set<KnowledgeChunkRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<OsirisUser>(user =>
        {
            user.ToTable("users");
            user.Property(u => u.Role).HasMaxLength(20);
        });
        modelBuilder.Entity<IdentityUserClaim<string>>().ToTable("user_claims");
        modelBuilder.Entity<IdentityUserLogin<string>>().ToTable("user_logins");
        modelBuilder.Entity<IdentityUserToken<string>>().ToTable("user_tokens");
        modelBuilder.Entity<AccessTokenRecord>(token =>
        {
            token.ToTable("access_tokens");
            token.Property(t => t.UserId).HasMaxLength(450);
            token.Property(t => t.Kind).HasMaxLength(20);
            token.Property(t => t.Name).HasMaxLength(100);
            token.Property(t => t.Role).HasMaxLength(20);
            token.Property(t => t.Hash).HasMaxLength(32);
            token.HasIndex(t => t.Hash).IsUnique();
            token.HasIndex(t => t.UserId);
            token.HasOne<OsirisUser>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<StreamTicketRecord>(ticket =>
        {
            ticket.ToTable("stream_tickets");
            ticket.HasKey(t => t.Hash);
            ticket.Property(t => t.Hash).HasMaxLength(32);
            ticket.Property(t => t.Actor).HasMaxLength(200);
            ticket.Property(t => t.Role).HasMaxLength(20);
            ticket.Property(t => t.UserId).HasMaxLength(450);
            ticket.HasIndex(t => t.ExpiresAt);
        });
        modelBuilder.Entity<TaskRecord>(task =>
        {
            task.ToTable("tasks");
            task.Property(t => t.Title).HasMaxLength(200);
            task.Property(t => t.Source).HasMaxLength(20);
            task.Property(t => t.Status).HasMaxLength(32);
            task.Property(t => t.Brain).HasMaxLength(32);
            task.Property(t => t.Model).HasMaxLength(100);
            task.Property(t => t.ExternalId).HasMaxLength(300);
            task.Property(t => t.CostUsd).HasPrecision(18, 6);
            task.HasIndex(t => new { t.Status, t.CreatedAt });
            task.HasIndex(t => t.CreatedAt);
            task.Property(t => t.Sender).HasMaxLength(300);
            task.Property(t => t.ReplyAddress).HasMaxLength(320);
            task.Property(t => t.ReplyThread).HasMaxLength(1000);
            task.Property(t => t.ReplySubject).HasMaxLength(1000);
            task.HasIndex(t => new { t.Source, t.ReplyAddress, t.Status });
            task.Property(t => t.LeaseOwner).HasMaxLength(200);
            task.HasIndex(t => new { t.Status, t.LeaseExpiresAt });
            task.Property(t => t.BudgetUsd).HasPrecision(18, 6);
            task.Property(t => t.PausedFor).HasMaxLength(32);
            task.Property(t => t.ToolMode).HasMaxLength(20);
            task.Property(t => t.ReplyMode).HasMaxLength(20);
            task.Property(t => t.SenderLevel).HasMaxLength(20);
            task.Ignore(t => t.EffectiveToolMode);
            task.Property(t => t.IdempotencyKey).HasMaxLength(100);
            task.HasIndex(t => t.IdempotencyKey).IsUnique();
            task.HasIndex(t => new { t.Source, t.ReplyAddress, t.CreatedAt });
            task.Property(t => t.KnowledgeCollections).HasMaxLength(4000);
            task.Property(t => t.OriginKind).HasMaxLength(20);
            task.Property(t => t.OriginCheckpointId).HasMaxLength(40);
            task.HasIndex(t => t.OriginTaskId);
        });
        modelBuilder.Entity<AuditRecord>(audit =>
        {
            audit.ToTable("audit");
            audit.Property(a => a.Actor).HasMaxLength(200);
            audit.Property(a => a.Action).HasMaxLength(64);
            audit.Property(a => a.Target).HasMaxLength(400);
            audit.Property(a => a.Address).HasMaxLength(64);
            audit.HasIndex(a => a.At);
        });

        modelBuilder.Entity<ModelCallRecord>(call =>
        {
            call.ToTable("model_calls");
            call.Property(c => c.Source).HasMaxLength(20);
            call.Property(c => c.Brain).HasMaxLength(32);
            call.Property(c => c.Model).HasMaxLength(100);
            call.Property(c => c.FinishReason).HasMaxLength(40);
            call.Property(c => c.CostUsd).HasPrecision(18, 6);
            call.HasIndex(c => c.CreatedAt);
            call.HasIndex(c => c.TaskId);
        });

        modelBuilder.Entity<ApprovalRecord>(approval =>
        {
            approval.ToTable("approvals");
            approval.Property(a => a.Tool).HasMaxLength(100);
            approval.Property(a => a.Status).HasMaxLength(20);
            approval.Property(a => a.DecidedBy).HasMaxLength(200);
            approval.HasIndex(a => a.TaskId);
        });

        modelBuilder.Entity<SettingRecord>(setting =>
        {
            setting.ToTable("settings");
            setting.HasKey(x => x.Key);
            setting.Property(x => x.Key).HasMaxLength(100);
        });

        modelBuilder.Entity<ChannelMessageRecord>(message =>
        {
            message.ToTable("channel_messages");
            message.Property(m => m.Channel).HasMaxLength(20);
            message.Property(m => m.ExternalId).HasMaxLength(1000);
            message.Property(m => m.Kind).HasMaxLength(20);
            message.Property(m => m.Sender).HasMaxLength(320);
            message.HasIndex(m => new { m.Channel, m.ExternalId }).IsUnique();
            message.HasIndex(m => new { m.Channel, m.Sender, m.ReceivedAt });
        });

        modelBuilder.Entity<DeliveryRecord>(delivery =>
        {
            delivery.ToTable("deliveries");
            delivery.Property(d => d.Channel).HasMaxLength(20);
            delivery.Property(d => d.Recipient).HasMaxLength(320);
            delivery.Property(d => d.Status).HasMaxLength(20);
            delivery.Property(d => d.ExternalId).HasMaxLength(1000);
            delivery.HasIndex(d => d.TaskId).IsUnique();
            delivery.HasIndex(d => d.Status);
        });

        modelBuilder.Entity<MessageRecord>(message =>
        {
            message.ToTable("messages");
            message.Property(m => m.Role).HasMaxLength(16);
            message.Property(m => m.Kind).HasMaxLength(16);
            message.Property(m => m.Model).HasMaxLength(100);
            message.HasIndex(m => new { m.TaskId, m.CreatedAt });
        });

        modelBuilder.Entity<ArtifactRecord>(artifact =>
        {
            artifact.ToTable("artifacts");
            artifact.Property(a => a.Path).HasMaxLength(1024);
            artifact.HasIndex(a => new { a.TaskId, a.Path, a.Version }).IsUnique();
        });

        modelBuilder.Entity<EventRecord>(e =>
        {
            e.ToTable("events");
            e.Property(x => x.Type).HasMaxLength(32);
            e.HasIndex(x => new { x.TaskId, x.Id });
            e.HasIndex(x => x.Timestamp);
        });

        modelBuilder.Entity<KnowledgeCollectionRecord>(collection =>
        {
            collection.ToTable("knowledge_collections");
            collection.Property(c => c.Name).HasMaxLength(64);
            collection.Property(c => c.Description).HasMaxLength(500);
            collection.Property(c => c.CreatedBy).HasMaxLength(200);
            collection.HasIndex(c => c.Name).IsUnique();
        });
        modelBuilder.Entity<KnowledgeDocumentRecord>(document =>
        {
            document.ToTable("knowledge_documents");
            document.Property(d => d.Key).HasMaxLength(8);
            document.Property(d => d.Name).HasMaxLength(255);
            document.Property(d => d.ContentType).HasMaxLength(100);
            document.Property(d => d.ContentHash).HasMaxLength(64);
            document.Property(d => d.Status).HasMaxLength(20);
            document.Property(d => d.Error).HasMaxLength(1000);
            document.Property(d => d.UploadedBy).HasMaxLength(200);
            document.Property(d => d.ClaimedBy).HasMaxLength(200);
            document.HasIndex(d => d.Key).IsUnique();
            document.HasIndex(d => new { d.CollectionId, d.Name }).IsUnique();
            document.HasIndex(d => new { d.Status, d.ClaimedUntil });
            document.HasOne<KnowledgeCollectionRecord>().WithMany().HasForeignKey(d => d.CollectionId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<KnowledgeChunkRecord>(chunk =>
        {
            chunk.ToTable("knowledge_chunks");
            chunk.Property(c => c.TitlePath).HasMaxLength(1000);
            chunk.Property(c => c.EmbeddingModel).HasMaxLength(100);
            chunk.HasIndex(c => new { c.DocumentId, c.Ordinal }).IsUnique();
            chunk.HasIndex(c => c.CollectionId);
            chunk.HasIndex(c => c.EmbeddingModel);
            chunk.HasOne<KnowledgeDocumentRecord>().WithMany().HasForeignKey(c => c.DocumentId).OnDelete(DeleteBehavior.Cascade);
        });

        ConfigureProvider(modelBuilder);
    }

    protected virtual void ConfigureProvider(ModelBuilder modelBuilder)
    {
    }
}

public sealed class PostgresOsirisDbContext(DbContextOptions<PostgresOsirisDbContext> options) : OsirisDbContext(options)
{
    // Payloads stay text (not jsonb) so a replayed event is byte-for-byte the event first sent live.
}

public sealed class SqliteOsirisDbContext(DbContextOptions<SqliteOsirisDbContext> options) : OsirisDbContext(options)
{
    protected override void ConfigureProvider(ModelBuilder modelBuilder)
    {
        // SQLite cannot order or compare DateTimeOffset; store exact UTC ticks so ordering and retention run in SQL
        // (EF's DateTimeOffsetToBinaryConverter would round to 0.1 ms, and a value read back would differ).
        var converter = new Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long>(
            v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties().Where(p => p.ClrType == typeof(DateTimeOffset) || p.ClrType == typeof(DateTimeOffset?)))
            {
                property.SetValueConverter(converter);
            }
        }
        // AUTOINCREMENT: event ids are never reused, even after the newest event is deleted.
        modelBuilder.Entity<EventRecord>().Property(e => e.Id).HasAnnotation("Sqlite:Autoincrement", true);
        modelBuilder.Entity<ArtifactRecord>().Property(a => a.Id).HasAnnotation("Sqlite:Autoincrement", true);
        modelBuilder.Entity<ChannelMessageRecord>().Property(a => a.Id).HasAnnotation("Sqlite:Autoincrement", true);
        modelBuilder.Entity<ModelCallRecord>().Property(a => a.Id).HasAnnotation("Sqlite:Autoincrement", true);
        modelBuilder.Entity<AuditRecord>().Property(a => a.Id).HasAnnotation("Sqlite:Autoincrement", true);
    }
}
