using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Osiris.Shared.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class IdempotencyKey : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "IdempotencyKey",
                table: "tasks",
                type: "character varying(100)",
                maxLength: 100,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_tasks_IdempotencyKey",
                table: "tasks",
                column: "IdempotencyKey",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_tasks_IdempotencyKey",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "IdempotencyKey",
                table: "tasks");
        }
    }
}
