/** The 12 sections of the backend roadmap (shared/roadmap.md); labs live in `labs/<folder>/<lab>/`. */
export const roadmapSections = [
  { number: 1, name: "Core Backend Fundamentals", folder: "01-fundamentals" },
  { number: 2, name: "Programming & Frameworks", folder: "02-frameworks" },
  { number: 3, name: "Databases", folder: "03-databases" },
  { number: 4, name: "Caching", folder: "04-caching" },
  { number: 5, name: "Message Brokers & Queues", folder: "05-queues" },
  { number: 6, name: "Authentication & Security", folder: "06-security" },
  { number: 7, name: "Architecture & Design", folder: "07-architecture" },
  { number: 8, name: "Scalability & Performance", folder: "08-scaling" },
  { number: 9, name: "Testing", folder: "09-testing" },
  { number: 10, name: "DevOps for Backend", folder: "10-devops" },
  { number: 11, name: "Logging, Monitoring & Observability", folder: "11-observability" },
  { number: 12, name: "Advanced Topics", folder: "12-advanced" },
] as const;

export type RoadmapSection = (typeof roadmapSections)[number];

export function sectionByNumber(sectionNumber: number): RoadmapSection | undefined {
  return roadmapSections.find((section) => section.number === sectionNumber);
}

export function sectionByFolder(folder: string): RoadmapSection | undefined {
  return roadmapSections.find((section) => section.folder === folder);
}
