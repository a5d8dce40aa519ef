using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Osiris.Shared.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Trust : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ReplyMode",
                table: "tasks",
                type: "TEXT",
                maxLength: 20,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SenderLevel",
                table: "tasks",
                type: "TEXT",
                maxLength: 20,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ToolMode",
                table: "tasks",
                type: "TEXT",
                maxLength: 20,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Text",
                table: "deliveries",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "audit",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    Actor = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Action = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Target = table.Column<string>(type: "TEXT", maxLength: 400, nullable: true),
                    Details = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_audit", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_tasks_Source_ReplyAddress_CreatedAt",
                table: "tasks",
                columns: new[] { "Source", "ReplyAddress", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_channel_messages_Channel_Sender_ReceivedAt",
                table: "channel_messages",
                columns: new[] { "Channel", "Sender", "ReceivedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_audit_At",
                table: "audit",
                column: "At");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit");

            migrationBuilder.DropIndex(
                name: "IX_tasks_Source_ReplyAddress_CreatedAt",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "IX_channel_messages_Channel_Sender_ReceivedAt",
                table: "channel_messages");

            migrationBuilder.DropColumn(
                name: "ReplyMode",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "SenderLevel",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "ToolMode",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "Text",
                table: "deliveries");
        }
    }
}
