// Allure Report 3 configuration: one self-contained HTML file (no server, no Java) so the
// report can be attached to a ticket or opened from disk.
import { defineConfig } from "allure";

export default defineConfig({
  name: "smartpbx-harness",
  output: "reports/allure-report",
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
        groupBy: ["feature", "story"],
      },
    },
  },
});
